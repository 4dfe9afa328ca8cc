"""SQLAlchemy adapters: tables, migrations and the SQL implementations of mios's ports."""
