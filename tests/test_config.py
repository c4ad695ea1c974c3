import pytest

from softswitch.config import ConfigError, from_dict, load


def test_embedded_defaults_serve():
    config = load(None, environ={})
    assert config.sip_host_port == ("0.0.0.0", 5060)
    assert config.api_host_port == ("127.0.0.1", 8080)
    assert config.rtp_port_range == (20000, 29999)
    assert config.local_addresses().default == "127.0.0.1"
    assert config.sip.local_networks == []
    assert config.sip.nat_keepalive == 25
    sip = config.sip
    assert (sip.auth_failures_per_minute, sip.auth_address_failures_per_minute) == (10, 30)
    assert (sip.auth_ban_seconds, sip.auth_failures_per_hour) == (300, 60)
    assert (config.sip.session_expires, config.sip.min_se) == (1800, 90)
    assert config.trunks == [] and config.default_extensions


def test_file_with_every_section(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("""
[sip]
listen = "127.0.0.1:5080"
external_address = "203.0.113.5"
[rtp]
ports = "30000-30100"
[[trunks]]
name = "carrier"
host = "127.0.0.1:5070"
username = "u"
password = "p"
prefixes = ["1", "44"]
[[trunks]]
name = "ip-auth"
host = "198.18.0.1"
register = false
keepalive = 15
[[extensions]]
number = "201"
password = "pw"
[[accounts]]
id = "account_1"
auth = "x"
""")
    config = load(path, environ={})
    assert config.sip_host_port == ("127.0.0.1", 5080)
    assert config.local_addresses().default == "203.0.113.5"
    assert config.trunks[0].prefixes == ["1", "44"]
    assert config.trunks[0].register is True
    assert config.trunks[0].keepalive is None and config.trunks[0].keepalive_interval == 25
    assert config.trunks[1].keepalive_interval == 15
    assert [e.number for e in config.extensions] == ["201"]
    assert not config.default_extensions


def test_environment_overrides_single_keys():
    config = from_dict(
        {}, {"SOFTSWITCH_SIP_LISTEN": "127.0.0.1:6000", "SOFTSWITCH_SIP_MIN_EXPIRES": "120"}
    )
    assert config.sip_host_port == ("127.0.0.1", 6000)
    assert config.sip.min_expires == 120


@pytest.mark.parametrize(
    "data, words",
    [
        ({"sip": {"listen": "127.0.0.1:99999"}}, "port out of range"),
        ({"sip": {"lisen": "x"}}, "unknown key"),
        ({"rtp": {"ports": "abc"}}, "rtp.ports"),
        ({"bogus": {}}, "unknown section"),
        ({"sip": {"min_expires": "soon"}}, "expected int"),
        ({"extensions": [{"number": "1a", "password": "x"}]}, "digits"),
        (
            {"extensions": [{"number": "1", "password": "x"}, {"number": "1", "password": "y"}]},
            "unique",
        ),
        ({"trunks": [{"name": "t", "host": "h", "register": True}]}, "username"),
        ({"trunks": [{"name": "t"}]}, "host"),
        ({"media": {"tts_engine": "say"}}, "tts_engine"),
        ({"media": {"moh_dir": "/nonexistent/music"}}, "media.moh_dir .* is not a folder"),
        ({"sip": {"tls_listen": "everywhere:5061"}}, "tls_listen must be ip:port"),
        ({"sip": {"tls_listen": "0.0.0.0:70000"}}, "port out of range"),
        ({"sip": {"tls_listen": "127.0.0.1:5060"}}, "port of sip.listen"),
        ({"sip": {"tls_listen": "0.0.0.0:5061", "tls_certificate": "c.pem"}}, "go together"),
        ({"sip": {"tls_certificate": "c.pem", "tls_private_key": "k.pem"}}, "tls_listen is not"),
        ({"trunks": [{"name": "t", "host": "h", "register": False, "transport": "sctp"}]}, "tls"),
        (
            {"trunks": [{"name": "t", "host": "h", "register": False, "verify": False}]},
            "need transport = tls",
        ),
        (
            {
                "trunks": [
                    {
                        "name": "t",
                        "host": "h",
                        "register": False,
                        "transport": "tls",
                        "ca_file": "/nonexistent/ca.pem",
                    }
                ]
            },
            "cannot read ca_file",
        ),
        (
            {
                "trunks": [
                    {
                        "name": "t",
                        "host": "h",
                        "register": False,
                        "transport": "tls",
                        "verify": "maybe",
                    }
                ]
            },
            "expected bool",
        ),
        ({"sip": {"local_networks": ["192.168.0.0/16", "10.0.0/8x"]}}, "sip.local_networks.*10"),
        ({"sip": {"local_networks": ["lan"]}}, "sip.local_networks"),
        ({"sip": {"nat_keepalive": -5}}, "sip.nat_keepalive"),
        ({"sip": {"nat_keepalive": "often"}}, "sip.nat_keepalive: expected int"),
        ({"sip": {"min_se": 0}}, "sip.min_se must be 1 to 86400"),
        ({"sip": {"min_se": "90s"}}, "sip.min_se: expected int"),
        ({"sip": {"session_expires": 60}}, r"sip.session_expires must be 0 \(off\) or sip.min_se"),
        ({"sip": {"session_expires": 1800, "min_se": 3600}}, "sip.session_expires must be"),
        ({"sip": {"session_expires": 100000}}, "sip.session_expires must be"),
        ({"sip": {"local_networks": "10.0.0.0/33"}}, "sip.local_networks"),
        (
            {"extensions": [{"number": "101", "password": "pw", "name": ["Front", "desk"]}]},
            r"extensions\[0\].name: expected str",
        ),
        (
            {"extensions": [{"number": "101", "password": "pw", "forward_busy": "10x"}]},
            "extension 101: forward_busy must be digits",
        ),
        (
            {"extensions": [{"number": "101", "password": "pw", "forward_always": "101"}]},
            "forward_always may not be the extension itself",
        ),
        (
            {"extensions": [{"number": "101", "password": "pw", "no_answer_timeout": 0}]},
            "no_answer_timeout must be 1 to 300",
        ),
        (
            {"extensions": [{"number": "101", "password": "pw", "dnd": "sometimes"}]},
            r"extensions\[0\].dnd: expected bool",
        ),
        (
            {"extensions": [{"number": "101", "password": "pw", "pickup_group": "sales team"}]},
            "pickup_group must be letters",
        ),
        (
            {"trunks": [{"name": "t", "host": "h", "register": False, "keepalive": -1}]},
            "trunk t: keepalive must be 0",
        ),
        (
            {"trunks": [{"name": "t", "host": "h", "register": False, "keepalive": 3601}]},
            "trunk t: keepalive must be 0",
        ),
        (
            {"trunks": [{"name": "t", "host": "h", "register": False, "keepalive": "often"}]},
            r"trunks\[0\].keepalive: expected int, got 'often'",
        ),
        ({"sip": {"auth_failures_per_minute": 0}}, "sip.auth_failures_per_minute"),
        ({"sip": {"auth_ban_seconds": -1}}, "sip.auth_ban_seconds"),
        ({"sip": {"auth_address_failures_per_minute": 0}}, "auth_address_failures_per_minute"),
        ({"sip": {"auth_address_failures_per_minute": "many"}}, "expected int"),
        ({"sip": {"auth_failures_per_hour": 0}}, "sip.auth_failures_per_hour"),
        (
            {"extensions": [{"number": "1", "password": "p", "voicemail_pin": "12a4"}]},
            "extension 1: voicemail_pin must be 4 to 12 digits",
        ),
        (
            {"extensions": [{"number": "1", "password": "p", "voicemail_pin": "123"}]},
            "voicemail_pin must be 4 to 12 digits",
        ),
        (
            {"extensions": [{"number": "1", "password": "p", "voicemail": "sometimes"}]},
            r"extensions\[0\].voicemail: expected bool",
        ),
        (
            {"extensions": [{"number": "1", "password": "p", "greeting_file": "/nonexistent.wav"}]},
            "cannot read greeting_file",
        ),
        ({"voicemail": {"max_seconds": 0}}, "voicemail.max_seconds must be 1 to 3600"),
        ({"voicemail": {"silence_seconds": -1}}, "voicemail.silence_seconds"),
        ({"voicemail": {"pin_tries": 0}}, "voicemail.pin_tries"),
        ({"voicemail": {"lock_seconds": "long"}}, "voicemail.lock_seconds: expected int"),
        ({"cluster": {"front_doors": ["kamailio.example"]}}, "not an ip or ip:port"),
        ({"cluster": {"front_doors": ["198.18.0.1"]}}, "cluster.secret must have at least 16"),
        (
            {"cluster": {"front_doors": ["198.18.0.1"], "secret": "short"}},
            "cluster.secret must have at least 16",
        ),
        ({"cluster": {"api_url": "10.0.0.1:8080"}}, "cluster.api_url"),
        ({"cluster": {"drain_timeout": -1}}, "cluster.drain_timeout"),
        ({"cluster": {"front_doors": "198.18.0.1:x"}}, "bad port"),
        ({"cluster": {"node_id": "node one"}}, "cluster.node_id must be"),
        ({"cluster": {"node_id": "n" * 65}}, "cluster.node_id must be"),
        ({"cluster": {"lease_seconds": 2}}, "cluster.lease_seconds must be 3 to 3600"),
        ({"cluster": {"lease_seconds": "long"}}, "cluster.lease_seconds: expected int"),
        ({"cluster": {"nodes": 2}}, r"\[cluster\] unknown key"),
    ],
)
def test_bad_configuration_is_a_clear_error(data, words):
    with pytest.raises(ConfigError, match=words):
        from_dict(data, {})


def test_unreadable_or_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[sip\nlisten=")
    with pytest.raises(ConfigError):
        load(bad, environ={})


def test_srtp_policy_defaults_and_bad_values():
    config = from_dict({}, {})
    assert config.rtp.srtp == "off" and config.rtp.srtp_over_plain_sip is False
    config = from_dict(
        {
            "rtp": {"srtp": "mandatory", "srtp_over_plain_sip": True},
            "trunks": [{"name": "t", "host": "h", "register": False, "srtp": "optional"}],
        },
        {"SOFTSWITCH_RTP_SRTP": "optional"},
    )
    assert config.rtp.srtp == "optional" and config.rtp.srtp_over_plain_sip
    assert config.trunks[0].srtp == "optional"
    with pytest.raises(ConfigError, match="rtp.srtp"):
        from_dict({"rtp": {"srtp": "yes"}}, {})
    with pytest.raises(ConfigError, match="trunk t: srtp"):
        from_dict({"trunks": [{"name": "t", "host": "h", "register": False, "srtp": "on"}]}, {})
    with pytest.raises(ConfigError, match="expected bool"):
        from_dict({"rtp": {"srtp_over_plain_sip": "maybe"}}, {})


def test_rtp_symmetric_defaults_on_and_takes_only_a_boolean():
    assert from_dict({}, {}).rtp.symmetric is True
    assert from_dict({"rtp": {"symmetric": False}}, {}).rtp.symmetric is False
    assert from_dict({}, {"SOFTSWITCH_RTP_SYMMETRIC": "no"}).rtp.symmetric is False
    with pytest.raises(ConfigError, match="rtp.symmetric: expected bool"):
        from_dict({"rtp": {"symmetric": "sometimes"}}, {})


def test_rtp_passthrough_defaults_on_and_takes_only_a_boolean():
    assert from_dict({}, {}).rtp.passthrough is True
    assert from_dict({"rtp": {"passthrough": False}}, {}).rtp.passthrough is False
    assert from_dict({}, {"SOFTSWITCH_RTP_PASSTHROUGH": "false"}).rtp.passthrough is False
    with pytest.raises(ConfigError, match="rtp.passthrough: expected bool"):
        from_dict({"rtp": {"passthrough": "when possible"}}, {})


@pytest.mark.parametrize("value", [-1, 86401, "never"])
def test_rtp_timeout_is_zero_to_a_day_in_seconds(value):
    assert from_dict({}, {}).rtp.timeout == 60
    assert from_dict({"rtp": {"timeout": 0}}, {}).rtp.timeout == 0  # off
    with pytest.raises(ConfigError, match="rtp.timeout"):
        from_dict({"rtp": {"timeout": value}}, {})


def test_tls_defaults_keep_tls_off_and_files_in_the_data_folder():
    config = from_dict({"store": {"path": "/var/lib/ss/softswitch.db"}}, {})
    assert config.tls_host_port is None
    assert [str(p) for p in config.tls_files] == [
        "/var/lib/ss/tls-certificate.pem",
        "/var/lib/ss/tls-private-key.pem",
    ]
    config = from_dict(
        {
            "sip": {"tls_listen": "0.0.0.0:5061"},
            "trunks": [{"name": "t", "host": "h", "register": False, "transport": "tls"}],
        },
        {"SOFTSWITCH_SIP_TLS_CERTIFICATE": "/c.pem", "SOFTSWITCH_SIP_TLS_PRIVATE_KEY": "/k.pem"},
    )
    assert config.tls_host_port == ("0.0.0.0", 5061)
    assert [str(p) for p in config.tls_files] == ["/c.pem", "/k.pem"]
    assert config.trunks[0].transport == "TLS" and config.trunks[0].verify is True


def test_local_networks_and_external_address():
    config = from_dict(
        {
            "sip": {
                "listen": "0.0.0.0:5060",
                "external_address": "198.19.255.1",
                "local_networks": ["198.18.0.0/16", "10.1.2.3/8"],
            }
        },
        {},
    )
    chooser = config.local_addresses()
    assert [str(n) for n in chooser.local_networks] == ["198.18.0.0/16", "10.0.0.0/8"]
    assert chooser.for_peer("203.0.113.9") == "198.19.255.1"
    assert chooser.for_peer("127.0.0.1") == "127.0.0.1"


def test_local_networks_from_the_environment():
    config = from_dict({}, {"SOFTSWITCH_SIP_LOCAL_NETWORKS": "192.168.0.0/16, 10.0.0.0/8"})
    assert config.sip.local_networks == ["192.168.0.0/16", "10.0.0.0/8"]
    with pytest.raises(ConfigError, match="sip.local_networks"):
        from_dict({}, {"SOFTSWITCH_SIP_LOCAL_NETWORKS": "192.168.0.0/16,nope"})


def test_ipv6_listen_addresses_are_written_in_brackets():
    config = from_dict({"sip": {"listen": "[::]:5070", "tls_listen": "[::1]:5071"}}, {})
    assert config.sip_host_port == ("::", 5070)
    assert config.tls_host_port == ("::1", 5071)
    assert config.local_addresses().for_peer("::1") == "::1"
    assert from_dict({"rtp": {"address": "::"}}, {}).rtp.address == "::"
    # the same port as sip.listen's TCP listener, on the IPv6 wildcard: refused
    with pytest.raises(ConfigError, match="port of sip.listen"):
        from_dict({"sip": {"listen": "[::]:5070", "tls_listen": "[::1]:5070"}}, {})
    with pytest.raises(ConfigError, match="tls_listen must be ip:port"):
        from_dict({"sip": {"tls_listen": "[::zz]:5061"}}, {})


def test_api_limits_defaults_and_overrides():
    limits = from_dict({}, {}).api_limits
    assert (limits.failures_per_source, limits.failures_per_account) == (20, 10)
    assert (limits.header_timeout, limits.max_connections) == (10, 1000)
    config = from_dict(
        {"api_limits": {"ban_seconds": 60}}, {"SOFTSWITCH_API_LIMITS_HEADER_TIMEOUT": "3"}
    )
    assert config.api_limits.ban_seconds == 60 and config.api_limits.header_timeout == 3


@pytest.mark.parametrize(
    "section, words",
    [
        ({"failures_per_source": -1}, "api_limits.failures_per_source must be 0 to"),
        ({"failure_window": 0}, "api_limits.failure_window must be 1 to"),
        ({"header_timeout": 0}, "api_limits.header_timeout"),
        ({"max_connections": 0}, "api_limits.max_connections must be 1 to"),
        ({"account_delay_ms": "slow"}, "api_limits.account_delay_ms: expected int"),
        ({"keepalive": 5}, r"\[api_limits\] unknown key"),
    ],
)
def test_bad_api_limits_are_a_clear_error(section, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"api_limits": section}, {})


def test_trunk_prack_defaults_to_supported_and_refuses_other_values():
    trunk = {"name": "t", "host": "h", "register": False}
    assert from_dict({"trunks": [trunk]}, {}).trunks[0].prack == "supported"
    for mode in ("off", "supported", "required"):
        assert from_dict({"trunks": [{**trunk, "prack": mode}]}, {}).trunks[0].prack == mode
    for bad in ("yes", "Required", ""):
        with pytest.raises(ConfigError, match="trunk t: prack must be one of off, supported"):
            from_dict({"trunks": [{**trunk, "prack": bad}]}, {})
    with pytest.raises(ConfigError):
        from_dict({"trunks": [{**trunk, "prack": True}]}, {})


def test_sip_connections_defaults_and_overrides():
    limits = from_dict({}, {}).sip_connections
    assert (limits.max_connections, limits.max_connections_per_source) == (2048, 128)
    assert (limits.message_timeout, limits.idle_timeout) == (20, 300)
    config = from_dict(
        {"sip_connections": {"idle_timeout": 600}},
        {"SOFTSWITCH_SIP_CONNECTIONS_MAX_CONNECTIONS_PER_SOURCE": "16"},
    )
    assert config.sip_connections.idle_timeout == 600
    assert config.sip_connections.max_connections_per_source == 16


def test_sip_limits_defaults_and_overrides():
    limits = from_dict({}, {}).sip_limits
    assert (limits.max_transactions, limits.max_transactions_per_source) == (20_000, 2_000)
    assert (limits.rate, limits.trusted_rate, limits.ban_seconds) == (200, 2_000, 60)
    config = from_dict({"sip_limits": {"rate": 0}}, {"SOFTSWITCH_SIP_LIMITS_BAN_SECONDS": "5"})
    assert config.sip_limits.rate == 0 and config.sip_limits.ban_seconds == 5


@pytest.mark.parametrize(
    "section, words",
    [
        ({"max_connections": 0}, "sip_connections.max_connections must be 1 to"),
        ({"max_connections_per_source": -5}, "sip_connections.max_connections_per_source"),
        ({"message_timeout": 0}, "sip_connections.message_timeout must be 1 to 3600"),
        ({"idle_timeout": "never"}, "sip_connections.idle_timeout: expected int"),
        ({"lifetime": 5}, r"\[sip_connections\] unknown key"),
    ],
)
def test_bad_sip_connections_are_a_clear_error(section, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"sip_connections": section}, {})


def test_conference_rooms_are_read_with_their_defaults() -> None:
    config = from_dict(
        {
            "extensions": [{"number": "101", "password": "x"}],
            "conferences": [
                {"number": "800", "pin": "4321", "name": "Sales", "record": True},
                {"number": "801", "max_participants": 3, "account": "AC1"},
            ],
        },
        {},
    )
    first, second = config.conferences
    assert (first.number, first.pin, first.name, first.record) == ("800", "4321", "Sales", True)
    assert first.max_participants == 10 and first.account == ""
    assert (second.pin, second.record, second.max_participants) == ("", False, 3)
    assert from_dict({}, {}).conferences == []


@pytest.mark.parametrize(
    ("room", "complaint"),
    [
        ({"number": "101"}, "is an extension's"),
        ({"number": "8a0"}, "number must be 1 to 20 digits"),
        ({"number": "800", "pin": "12ab"}, "pin must be"),
        ({"number": "800", "max_participants": 1}, "max_participants must be 2 to 100"),
        ({"number": "800", "max_participants": 500}, "max_participants must be 2 to 100"),
        ({"number": "800", "record": "sometimes"}, "expected bool"),
        ({"number": "800", "colour": "red"}, "unknown key"),
    ],
)
def test_a_wrong_conference_room_is_refused(room: dict, complaint: str) -> None:
    data = {"extensions": [{"number": "101", "password": "x"}], "conferences": [room]}
    with pytest.raises(ConfigError, match=complaint):
        from_dict(data, {})


def test_conference_numbers_must_be_unique() -> None:
    with pytest.raises(ConfigError, match="conference numbers must be unique"):
        from_dict({"conferences": [{"number": "800"}, {"number": "800"}]}, {})


def test_session_timers_can_be_off_or_short_for_tests():
    assert from_dict({"sip": {"session_expires": 0}}).sip.session_expires == 0
    # below RFC 4028's 90 s floor: allowed (the switch warns), so tests take seconds
    short = from_dict({"sip": {"session_expires": 4, "min_se": 2}}).sip
    assert (short.session_expires, short.min_se) == (4, 2)


@pytest.mark.parametrize(
    "section, words",
    [
        ({"max_transactions": 0}, "sip_limits.max_transactions must be 1 to"),
        ({"max_transactions_per_source": -5}, "sip_limits.max_transactions_per_source"),
        ({"rate": -1}, "sip_limits.rate must be 0 to"),
        ({"rate": 500, "trusted_rate": 100}, "trusted_rate must be at least"),
        ({"ban_seconds": "long"}, "sip_limits.ban_seconds: expected int"),
        ({"pike": 1}, r"\[sip_limits\] unknown key"),
    ],
)
def test_bad_sip_limits_are_a_clear_error(section, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"sip_limits": section}, {})


def test_metrics_are_off_by_default_and_take_a_token_and_or_a_listener():
    metrics = from_dict({}).metrics
    assert (metrics.token, metrics.listen, metrics.enabled) == ("", "", False)
    on = from_dict({"metrics": {"token": "x" * 16, "listen": "127.0.0.1:9464"}}).metrics
    assert on.enabled and on.listen == "127.0.0.1:9464"
    env = from_dict({}, {"SOFTSWITCH_METRICS_TOKEN": "from-the-environment"}).metrics
    assert env.token == "from-the-environment" and env.enabled
    assert from_dict({"metrics": {"listen": "[::1]:9464"}}).metrics.enabled


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"token": "short"}, "at least 16"),
        ({"token": "has a space in it somewhere"}, "without spaces"),
        ({"token": "\u00e9" * 20}, "printable ASCII"),
        ({"listen": "9464"}, "ip:port"),
        ({"listen": "metrics.example:9464"}, "ip:port"),
        ({"listen": "127.0.0.1:99999"}, "out of range"),
        ({"listen": "127.0.0.1:8080"}, "port of api.listen"),
        ({"secret": "x" * 16}, "unknown key"),
    ],
)
def test_bad_metrics_settings_are_a_clear_error(section, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"metrics": section})


def test_cluster_defaults_and_a_node_id():
    config = from_dict({}, {})
    assert (config.cluster.node_id, config.cluster.lease_seconds) == ("", 30)
    config = from_dict({"cluster": {"node_id": "sw-2.dc1", "lease_seconds": 10}}, {})
    assert (config.cluster.node_id, config.cluster.lease_seconds) == ("sw-2.dc1", 10)
    env = {"SOFTSWITCH_CLUSTER_NODE_ID": "sw-3"}
    assert from_dict({}, env).cluster.node_id == "sw-3"


def test_store_url_defaults_to_the_sqlite_file_at_path_and_takes_postgresql():
    config = load(None, environ={})
    assert config.store.database_url == "sqlite:///data/softswitch.db"
    assert config.store.pool_size == 10
    old = from_dict({"store": {"path": "/var/lib/ss/db.sqlite"}})  # the key of older configs
    assert old.store.database_url == "sqlite:////var/lib/ss/db.sqlite"
    sqlite = from_dict({"store": {"url": "sqlite:///elsewhere/s.db"}})
    assert sqlite.store.path == "elsewhere/s.db"  # the data folder follows the file
    assert str(sqlite.tls_files[0]).startswith("elsewhere/")
    pg = from_dict({"store": {"url": "postgresql://ss:pw@db.example:5432/softswitch"}})
    assert pg.store.database_url == "postgresql://ss:pw@db.example:5432/softswitch"
    env = load(None, environ={"SOFTSWITCH_STORE_URL": "postgresql://db/ss"})
    assert env.store.database_url == "postgresql://db/ss"


@pytest.mark.parametrize(
    ("store", "words"),
    [
        ({"url": "mysql://h/db"}, "store.url 'mysql://h/db': expected sqlite"),
        ({"url": "data/softswitch.db"}, "expected sqlite:///path or postgresql"),
        ({"url": "sqlite://data.db"}, "three slashes"),
        ({"url": "sqlite:///"}, "three slashes"),
        ({"pool_size": 0}, "store.pool_size must be 1 to 1000"),
        ({"pool_size": "many"}, "expected int"),
    ],
)
def test_a_wrong_store_url_or_pool_size_is_a_clear_error(store, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"store": store})


def test_amd_thresholds_default_to_app_amd_and_are_tunable():
    from media.amd import AmdSettings

    assert from_dict({}).amd.settings() == AmdSettings()
    settings = from_dict(
        {"amd": {"greeting_ms": 2000, "maximum_words": 4}},
        {"SOFTSWITCH_AMD_END_SILENCE_MS": "900"},
    ).amd.settings()
    assert (settings.greeting, settings.maximum_words, settings.end_silence) == (2.0, 4, 0.9)
    assert settings.initial_silence == 2.5 and settings.total == 5.0


@pytest.mark.parametrize(
    ("amd", "words"),
    [
        ({"greeting_ms": 0}, "amd.greeting_ms must be 20 to 60000"),
        ({"total_analysis_ms": 90_000}, "amd.total_analysis_ms"),
        ({"maximum_words": 0}, "amd.maximum_words"),
        ({"silence_threshold": 40_000}, "amd.silence_threshold"),
        ({"end_timeout_ms": 10}, "amd.end_timeout_ms"),
        ({"greeting_ms": "long"}, "amd.greeting_ms: expected int"),
        ({"beep": 1}, "unknown key"),
    ],
)
def test_amd_wrong_values_are_refused(amd, words):
    with pytest.raises(ConfigError, match=words):
        from_dict({"amd": amd})


def test_cluster_is_off_by_default_and_names_the_node():
    config = from_dict({"sip": {"listen": "127.0.0.1:5080"}, "api": {"listen": "0.0.0.0:8090"}})
    assert not config.cluster.enabled and config.cluster.drain_timeout == 0
    assert config.node_id.endswith(":5080")
    assert config.node_api_url == "http://127.0.0.1:8090"
    config = from_dict(
        {
            "cluster": {
                "front_doors": ["198.18.0.1", "198.18.0.2:5060"],
                "node_id": "sw1",
                "api_url": "http://198.18.0.11:8080/",
                "secret": "x" * 16,
            }
        }
    )
    assert config.cluster.enabled and config.node_id == "sw1"
    assert config.node_api_url == "http://198.18.0.11:8080"


def test_media_codecs_default_to_g711_and_name_only_known_codecs_once():
    assert from_dict({}, {}).media.codecs == ["PCMU", "PCMA"]
    wide = from_dict({"media": {"codecs": ["opus", "G722", "pcmu"]}}, {})
    assert wide.media.codecs == ["OPUS", "G722", "PCMU"]
    env = from_dict({}, {"SOFTSWITCH_MEDIA_CODECS": "g722,pcmu"})
    assert env.media.codecs == ["G722", "PCMU"]
    for bad in (["g729"], [], ["pcmu", "PCMU"], "opus,amr"):
        with pytest.raises(ConfigError, match="media.codecs"):
            from_dict({"media": {"codecs": bad}}, {})


def test_media_recognizer_workers_default_to_one_process_and_stay_in_range():
    assert from_dict({}, {}).media.recognizer_workers == 1
    assert from_dict({"media": {"recognizer_workers": 0}}, {}).media.recognizer_workers == 0
    for bad in (-1, 33):
        with pytest.raises(ConfigError, match="media.recognizer_workers"):
            from_dict({"media": {"recognizer_workers": bad}}, {})
    with pytest.raises(ConfigError, match="recognizer_workers"):
        from_dict({"media": {"recognizer_workers": "two"}}, {})
