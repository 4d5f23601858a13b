"""The search benchmark's pure parts: its summary line and the nginx config it measures as the baseline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench._nginx import SEARCH_PATH, nginx_config
from bench.search import summary_line

KEY = "0b6c1f5e-3f55-4d07-9a49-6b1f0c0f9d2a"
TENANT = "8700f5cb-eaca-461e-8c2e-245a25f2399d"


def test_summary_line_is_the_documented_one() -> None:
    line = summary_line(0.5749, 0.7951, 128.4, 44.2)
    assert line == (
        "search: gateway/direct = 0.57, nginx/direct = 0.80; "
        "CPU per search gateway = 128 us, nginx = 44 us (ratio 2.91)"
    )


def test_summary_ratio_is_of_the_whole_microseconds_shown() -> None:
    """A reader can check the ratio from the line: 90/60 = 1.50, whatever the fractions behind them."""
    line = summary_line(0.7, 0.8, 89.6, 60.4)
    assert line.endswith("gateway = 90 us, nginx = 60 us (ratio 1.50)")
    pattern = r"search: gateway/direct = \d+\.\d\d, nginx/direct = \d+\.\d\d; "
    pattern += r"CPU per search gateway = \d+ us, nginx = \d+ us \(ratio \d+\.\d\d\)"
    assert re.fullmatch(pattern, line)


def test_summary_without_nginx_cpu_says_so_rather_than_dividing_by_zero() -> None:
    assert summary_line(0.5, 0.8, 100, 0.2).endswith("nginx = 0 us (ratio n/a)")


def config(**changes: str) -> str:
    args = {"es_url": "http://127.0.0.1:9200", "index": "the_index", "key": KEY, "tenant": TENANT} | changes
    return nginx_config(Path("/tmp/prefix"), 8081, **args)


def test_nginx_is_a_bare_keep_alive_proxy_with_one_worker_and_no_access_log() -> None:
    text = config()
    for directive in (
        "daemon off;",
        "worker_processes 1;",
        "access_log off;",
        "pid /tmp/prefix/nginx.pid;",
        "error_log /tmp/prefix/error.log warn;",
        "listen 127.0.0.1:8081;",
        "server 127.0.0.1:9200;",
        "keepalive 32;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        f"location = {SEARCH_PATH} {{",
        "proxy_pass http://elasticsearch/the_index/_search;",
    ):
        assert directive in text, directive
    assert text.count("{") == text.count("}")
    # every file nginx writes (pid, error log, the five temp paths) is under its own prefix
    written = re.findall(r"^\s*(?:pid|error_log|\w+_temp_path) (\S+?);?$", text.replace(" warn;", ""), re.M)
    assert len(written) == 7 and all(path.startswith("/tmp/prefix/") for path in written), written


def test_nginx_compares_the_key_then_the_tenant() -> None:
    text = config()
    key_check = f'if ($http_authorization != "{KEY}") {{\n                return 401;'
    tenant_check = f'if ($http_x_tenant_id != "{TENANT}") {{\n                return 403;'
    assert key_check in text and tenant_check in text
    assert text.index(key_check) < text.index(tenant_check) < text.index("proxy_pass")


@pytest.mark.parametrize(
    "changes",
    [{"key": 'a"; return 200; #'}, {"key": "$request_uri"}, {"tenant": "t t"}, {"index": "a;b"}, {"key": ""}],
    ids=["quote", "variable", "space", "semicolon", "empty"],
)
def test_a_value_nginx_would_read_as_config_is_refused(changes: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="plain string"):
        config(**changes)


@pytest.mark.parametrize("url", ["https://127.0.0.1:9200", "http://127.0.0.1", "127.0.0.1:9200"])
def test_only_a_plain_http_upstream_with_a_port_is_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="http://host:port"):
        config(es_url=url)
