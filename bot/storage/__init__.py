"""SQLite storage: connection, migrations, repositories, PTB persistence. All SQL lives here."""
