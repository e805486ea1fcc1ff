"""Provider adaptors: pure translators behind one Adaptor protocol (one module per provider)."""
