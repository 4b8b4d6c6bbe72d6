"""The shared ``database_url`` fixture gives each test a working, empty database.

Checks:
* each backend (SQLite, PostgreSQL) accepts DDL and a write, and reads the row back;
* each test gets its own empty database (no table left over from another test);
* PostgreSQL URLs point at 127.0.0.1 and use the psycopg 3 driver.
"""

from __future__ import annotations

import sqlalchemy as sa


def test_create_insert_select(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
            conn.execute(sa.text("INSERT INTO notes (id, body) VALUES (1, 'hello')"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT body FROM notes")).scalar_one() == "hello"
    finally:
        engine.dispose()


def test_database_starts_empty(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_postgresql_url_shape(postgresql_url: str) -> None:
    url = sa.make_url(postgresql_url)
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "127.0.0.1"
    assert url.database is not None and url.database.startswith("t_")
