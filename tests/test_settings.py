from pathlib import Path

import pytest

from oneapi_app.settings import SettingsError, ensure_session_secret, load_settings, parse_dsn


def test_defaults(tmp_path: Path):
    s = load_settings({"DATA_DIR": str(tmp_path)})
    assert s.port == 3000
    assert s.sqlite_path == tmp_path / "one-api.db"
    assert s.database.kind == "sqlite"
    assert s.database.async_url == f"sqlite+aiosqlite:///{tmp_path}/one-api.db"
    assert s.sync_frequency == 600 and s.node_type == "master" and s.global_api_rate_limit == 480
    assert s.sqlite_busy_timeout == 3000
    # Longer than the client pools (httpx/openai SDK 5 s): the client closes an idle connection first.
    assert s.keep_alive_timeout == 75
    assert load_settings({"DATA_DIR": str(tmp_path), "KEEP_ALIVE_TIMEOUT": "120"}).keep_alive_timeout == 120


@pytest.mark.parametrize("name,value,fragment", [
    ("PORT", "abc", "PORT: expected an integer"),
    ("PORT", "70000", "PORT: must be a TCP port"),
    ("SYNC_FREQUENCY", "0", "SYNC_FREQUENCY: must be >= 1"),
    ("KEEP_ALIVE_TIMEOUT", "0", "KEEP_ALIVE_TIMEOUT: must be >= 1"),
    ("DEBUG", "maybe", "DEBUG: expected true or false"),
    ("NODE_TYPE", "leader", "NODE_TYPE: expected 'master' or 'slave'"),
    ("SQL_DSN", "this is not a dsn", "SQL_DSN: cannot parse"),
    ("SQL_DSN", "postgres://u:p@host:port/db", "SQL_DSN: bad port"),
    ("LOG_SQL_DSN", "root@tcp(h:x)/db", "LOG_SQL_DSN: bad port"),
    ("REDIS_CONN_STRING", "localhost:6379", "REDIS_CONN_STRING: expected a redis://"),
    ("RELAY_PROXY", "nohost", "RELAY_PROXY: expected a URL"),
    # Longer keys did not fit their columns: PostgreSQL/MySQL refused the root account and the start crashed.
    ("INITIAL_ROOT_ACCESS_TOKEN", "a" * 33, "INITIAL_ROOT_ACCESS_TOKEN: at most 32 characters, got 33"),
    ("INITIAL_ROOT_TOKEN", "k" * 49, "INITIAL_ROOT_TOKEN: at most 48 characters, got 49"),
])
def test_bad_values_name_the_setting(tmp_path: Path, name: str, value: str, fragment: str):
    with pytest.raises(SettingsError) as err:
        load_settings({"DATA_DIR": str(tmp_path), name: value})
    message = str(err.value)
    assert fragment in message
    assert "\n" not in message


def test_password_never_in_error_or_repr(tmp_path: Path):
    with pytest.raises(SettingsError) as err:
        load_settings({"DATA_DIR": str(tmp_path), "SQL_DSN": "postgres://u:hunter2@h:xx/db"})
    assert "hunter2" not in str(err.value)
    s = load_settings({"DATA_DIR": str(tmp_path), "SQL_DSN": "postgres://u:hunter2@h:5432/db"})
    assert "hunter2" not in repr(s.database) and "hunter2" not in s.database.display


def test_dsn_forms():
    p = Path("/d/one-api.db")
    pg = parse_dsn("postgres://user:pw@db:5432/oneapi?sslmode=disable", sqlite_path=p)
    assert pg.kind == "postgresql" and pg.async_url == "postgresql+psycopg://user:pw@db:5432/oneapi?sslmode=disable"
    my = parse_dsn("root:123456@tcp(localhost:3306)/oneapi?charset=utf8mb4&parseTime=True&loc=Local", sqlite_path=p)
    assert my.kind == "mysql"
    assert my.async_url == "mysql+aiomysql://root:123456@localhost:3306/oneapi?charset=utf8mb4"
    assert my.sync_url.startswith("mysql+pymysql://root:123456@localhost:3306/oneapi")
    url = parse_dsn("mysql://a%40b:p%3Aw@h:3307/x", sqlite_path=p)
    assert url.async_url == "mysql+aiomysql://a%40b:p%3Aw@h:3307/x?charset=utf8mb4"
    assert parse_dsn("", sqlite_path=p).sync_url == "sqlite:////d/one-api.db"


def test_config_file_and_precedence(tmp_path: Path):
    (tmp_path / "oneapi.env").write_text("# comment\nPORT=4000\nexport SYNC_FREQUENCY=60\nTHEME='air'\n")
    s = load_settings({"DATA_DIR": str(tmp_path)})  # default file in the data dir
    assert (s.port, s.sync_frequency, s.theme) == (4000, 60, "air")
    s = load_settings({"DATA_DIR": str(tmp_path), "PORT": "5000"})  # the environment wins over the file
    assert s.port == 5000
    s = load_settings({"DATA_DIR": str(tmp_path), "PORT": "5000"}, port=6000)  # a flag wins over both
    assert s.port == 6000
    other = tmp_path / "other.env"
    other.write_text("PORT=4100\n")
    assert load_settings({"DATA_DIR": str(tmp_path)}, config_file=other).port == 4100


def test_bad_config_file_line(tmp_path: Path):
    f = tmp_path / "x.env"
    f.write_text("PORT=1\nthis line is wrong\n")
    with pytest.raises(SettingsError, match=r"x.env:2: expected KEY=VALUE"):
        load_settings({"DATA_DIR": str(tmp_path)}, config_file=f)
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings({"DATA_DIR": str(tmp_path)}, config_file=tmp_path / "missing.env")


def test_session_secret_generated_once(tmp_path: Path):
    s = load_settings({"DATA_DIR": str(tmp_path)})
    first = ensure_session_secret(s).session_secret
    second = ensure_session_secret(load_settings({"DATA_DIR": str(tmp_path)})).session_secret
    assert first and first == second
    assert (tmp_path / "session_secret").stat().st_mode & 0o777 == 0o600
    given = load_settings({"DATA_DIR": str(tmp_path), "SESSION_SECRET": "s3cret"})
    assert ensure_session_secret(given).session_secret == "s3cret"
    placeholder = load_settings({"DATA_DIR": str(tmp_path), "SESSION_SECRET": "random_string"})
    assert ensure_session_secret(placeholder).session_secret == first


def test_cli_prints_one_line_on_bad_setting(tmp_path: Path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "oneapi_app.cli", "migrate"], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path), "PORT": "x1"})
    assert result.returncode == 2
    assert result.stderr.strip() == "oneapi: configuration error: PORT: expected an integer, got 'x1'"
