"""Services: the only code that writes to the database. Routes, the relay and Reflex state call them."""
