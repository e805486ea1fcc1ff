"""Authentication: passwords (bcrypt), sessions, OAuth."""
