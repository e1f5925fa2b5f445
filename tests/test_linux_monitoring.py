"""Remote logging and NTP of a Linux gateway: what rsyslog, systemd-journal-upload,
systemd-timesyncd, chrony and ntpd are set to, counted only when the daemon is shown to run.

The configuration texts are the distributions' own: Debian 12's rsyslog.conf (rsyslog
8.2302.0-1+deb12u2), chrony.conf (chrony 4.3-2+deb12u3) and timesyncd.conf (systemd 252).
The include order, the legacy forwarding forms and the rulesets below were checked with
rsyslogd 8.2302 itself (``rsyslogd -N1 -o FULLCONF`` writes the configuration as it read
it); ``systemctl show`` prints what systemd 252's manager printed for existing, missing and
aliased units.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from smmcheck.facts import DeviceFacts
from smmcheck.inputs import discover, read_bundle
from smmcheck.parse import parse_bundle
from smmcheck.parse.artifacts import Artifact, bundle_text
from smmcheck.recipes import load_recipe

DEBIAN_RSYSLOG_CONF = """\
# /etc/rsyslog.conf configuration file for rsyslog
#
# For more information install rsyslog-doc and see
# /usr/share/doc/rsyslog-doc/html/configuration/index.html


#################
#### MODULES ####
#################

module(load="imuxsock") # provides support for local system logging
module(load="imklog")   # provides kernel logging support
#module(load="immark")  # provides --MARK-- message capability

# provides UDP syslog reception
#module(load="imudp")
#input(type="imudp" port="514")

# provides TCP syslog reception
#module(load="imtcp")
#input(type="imtcp" port="514")


###########################
#### GLOBAL DIRECTIVES ####
###########################

#
# Set the default permissions for all log files.
#
$FileOwner root
$FileGroup adm
$FileCreateMode 0640
$DirCreateMode 0755
$Umask 0022

#
# Where to place spool and state files
#
$WorkDirectory /var/spool/rsyslog

#
# Include all config files in /etc/rsyslog.d/
#
$IncludeConfig /etc/rsyslog.d/*.conf


###############
#### RULES ####
###############

#
# Log anything besides private authentication messages to a single log file
#
*.*;auth,authpriv.none\t\t-/var/log/syslog

#
# Log commonly used facilities to their own log file
#
auth,authpriv.*\t\t\t/var/log/auth.log
cron.*\t\t\t\t-/var/log/cron.log
kern.*\t\t\t\t-/var/log/kern.log
mail.*\t\t\t\t-/var/log/mail.log
user.*\t\t\t\t-/var/log/user.log

#
# Emergencies are sent to everybody logged in.
#
*.emerg\t\t\t\t:omusrmsg:*

"""
INCLUDE_LINE = 45  # $IncludeConfig /etc/rsyslog.d/*.conf

DEBIAN_TIMESYNCD_CONF = """\
#  This file is part of systemd.
#
# See timesyncd.conf(5) for details.

[Time]
#NTP=
#FallbackNTP=0.debian.pool.ntp.org 1.debian.pool.ntp.org 2.debian.pool.ntp.org 3.debian.pool.ntp.org
#RootDistanceMaxSec=5
#PollIntervalMinSec=32
#PollIntervalMaxSec=2048
"""

DEBIAN_CHRONY_CONF = """\
# Include configuration files found in /etc/chrony/conf.d.
confdir /etc/chrony/conf.d

# Use Debian vendor zone.
pool 2.debian.pool.ntp.org iburst

# Use time sources from DHCP.
sourcedir /run/chrony-dhcp

# Use NTP sources found in /etc/chrony/sources.d.
sourcedir /etc/chrony/sources.d

keyfile /etc/chrony/chrony.keys
driftfile /var/lib/chrony/chrony.drift
makestep 1 3
"""

UNITS = [
    "rsyslog",
    "syslog-ng",
    "systemd-journal-upload",
    "systemd-timesyncd",
    "chrony",
    "chronyd",
    "ntpsec",
    "ntp",
    "ntpd",
]


def service_state(**active: str) -> str:
    """`systemctl show -p Id,LoadState,ActiveState,UnitFileState` of the recipe's units:
    ``active`` maps a unit (underscores for dashes) to its ActiveState; the others do not
    exist. chronyd is chrony.service's alias, shown under its Id."""
    blocks = []
    for name in UNITS:
        unit = "chrony" if name == "chronyd" and "chrony" in active else name
        state = active.get(unit.replace("-", "_"))
        if state is None:
            blocks.append(
                f"Id={unit}.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n"
            )
        else:
            blocks.append(
                f"Id={unit}.service\nLoadState=loaded\nActiveState={state}\nUnitFileState=enabled\n"
            )
    return "\n".join(blocks)


# Nothing but the named outputs: the other log and NTP daemons' files do not exist.
NONE = {
    "rsyslog-config": None,
    "rsyslog-conf-d": None,
    "journal-upload-config": None,
    "syslog-ng-config": None,
    "timesyncd-config": None,
    "timesyncd-conf-d": None,
    "chrony-config": None,
    "chrony-conf-d": None,
    "chrony-sources-d": None,
    "ntp-config": None,
}


def facts(files: dict[str, str | None], *, base: dict[str, str | None] = NONE) -> DeviceFacts:
    merged = {**base, **files}
    artifacts = tuple(
        Artifact(name, f"gw/{name}.txt", text or "", absent=text is None)
        for name, text in merged.items()
    )
    sha = hashlib.sha256(bundle_text(artifacts).encode()).hexdigest()
    return parse_bundle(artifacts, source="gw", sha256=sha, name_hint="gw", platform="linux")


def labels(found: DeviceFacts, family: str = "logging_hosts") -> list[str] | None:
    items = getattr(found, family)
    return None if items is None else [item.label for item in items]


def cited(found: DeviceFacts, family: str = "logging_hosts") -> list[list[tuple[str, int]]]:
    return [[(e.source, e.line) for e in item.evidence] for item in getattr(found, family)]


RSYSLOG_ACTIVE = service_state(rsyslog="active")


# --- rsyslog: what forwards, in the order rsyslogd reads it ---------------------------------


def test_forwarding_in_rsyslog_d_is_read_where_the_include_line_stands() -> None:
    found = facts(
        {
            "service-state": RSYSLOG_ACTIVE,
            "rsyslog-config": DEBIAN_RSYSLOG_CONF,
            "rsyslog-conf-d": (
                "==> /etc/rsyslog.d/10-plant.conf <==\n"
                "*.* @@10.99.0.20:514\n"
                "\n"
                "==> /etc/rsyslog.d/60-tls.conf <==\n"
                'action(type="omfwd" protocol="tcp"\n'
                '       StreamDriver="gtls" StreamDriverMode="1"\n'
                '       target="syslog.plant.example" port="6514")\n'
            ),
        }
    )
    assert labels(found) == [
        "rsyslog forwards *.* to 10.99.0.20 (tcp port 514)",
        "rsyslog forwards all messages to syslog.plant.example (tcp port 6514, TLS)",
    ]
    # Each cites the include line, its own lines in the listing, and that rsyslog runs.
    assert cited(found) == [
        [
            ("gw/rsyslog-config.txt", INCLUDE_LINE),
            ("gw/rsyslog-conf-d.txt", 2),
            ("gw/service-state.txt", 3),
        ],
        [
            ("gw/rsyslog-config.txt", INCLUDE_LINE),
            ("gw/rsyslog-conf-d.txt", 5),
            ("gw/rsyslog-conf-d.txt", 7),
            ("gw/service-state.txt", 3),
        ],
    ]


def test_legacy_forwarding_forms() -> None:
    found = facts(
        {
            "service-state": RSYSLOG_ACTIVE,
            "rsyslog-config": (
                "*.* @@(o,z9)10.99.0.20:10514;RSYSLOG_SyslogProtocol23Format\n"
                "auth,authpriv.* @[2001:db8:99::20]:514\n"
                "& @10.99.0.23\n"
                ':programname, isequal, "plc-bridge" :omrelp:10.99.0.24:2514\n'
                "$DefaultNetstreamDriver gtls\n"
                "$ActionSendStreamDriverMode 1\n"
                "*.* @@logs.plant.example:6514\n"
            ),
        }
    )
    assert labels(found) == [
        "rsyslog forwards *.* to 10.99.0.20 (tcp port 10514)",
        "rsyslog forwards auth,authpriv.* to 2001:db8:99::20 (udp port 514)",
        "rsyslog forwards auth,authpriv.* to 10.99.0.23 (udp port 514)",
        'rsyslog forwards :programname, isequal, "plc-bridge" to 10.99.0.24 (relp port 2514)',
        "rsyslog forwards *.* to logs.plant.example (tcp port 6514, TLS)",
    ]


def test_legacy_actions_after_then_and_else() -> None:
    found = facts(
        {
            "service-state": RSYSLOG_ACTIVE,
            "rsyslog-config": (
                'if $programname == "plc-bridge" then @@10.99.0.20:514\n'
                'if $msg contains "heartbeat" then {\n'
                "    stop\n"
                "} else @10.99.0.21\n"
            ),
        }
    )
    assert labels(found) == [
        "rsyslog forwards if $programname == 'plc-bridge' to 10.99.0.20 (tcp port 514)",
        "rsyslog forwards else to 10.99.0.21 (udp port 514)",
    ]


def test_a_forwarding_file_rsyslog_does_not_include_forwards_nothing() -> None:
    commented = DEBIAN_RSYSLOG_CONF.replace("$IncludeConfig", "#$IncludeConfig")
    listing = "==> /etc/rsyslog.d/60-remote.conf <==\n*.* @@10.99.0.20:514\n"
    base = {"service-state": RSYSLOG_ACTIVE, "rsyslog-conf-d": listing}
    assert labels(facts({**base, "rsyslog-config": commented})) == []
    assert labels(facts({**base, "rsyslog-config": DEBIAN_RSYSLOG_CONF})) == [
        "rsyslog forwards *.* to 10.99.0.20 (tcp port 514)"
    ]


def test_an_include_of_a_folder_that_is_not_collected_is_unknown() -> None:
    main = 'module(load="imuxsock")\ninclude(file="/usr/local/etc/rsyslog/*.conf")\n'
    base = {"service-state": RSYSLOG_ACTIVE}
    assert facts({**base, "rsyslog-config": main}).logging_hosts is None
    # A forward that is known is enough, whatever the unknown file holds.
    known = facts({**base, "rsyslog-config": main + "*.* @10.99.0.20\n"})
    assert labels(known) == ["rsyslog forwards *.* to 10.99.0.20 (udp port 514)"]
    # Nor is /etc/rsyslog.d known when its listing was not collected at all.
    base_without_listing = {k: v for k, v in NONE.items() if k != "rsyslog-conf-d"}
    assert (
        facts(
            {**base, "rsyslog-config": DEBIAN_RSYSLOG_CONF}, base=base_without_listing
        ).logging_hosts
        is None
    )


def test_an_unconditional_stop_discards_what_follows_and_a_conditional_one_does_not() -> None:
    base = {"service-state": RSYSLOG_ACTIVE}
    discard_all = "*.* stop\n*.* @10.99.0.20\n"
    discard_some = (
        'if $programname == "node-red" then {\n    stop\n}\n'
        ':msg, contains, "#then" ~\n'
        "*.* @10.99.0.20\n"
    )
    assert facts({**base, "rsyslog-config": discard_all}).logging_hosts == ()
    assert labels(facts({**base, "rsyslog-config": discard_some})) == [
        "rsyslog forwards *.* to 10.99.0.20 (udp port 514)"
    ]


def test_a_ruleset_forwards_the_device_log_only_when_called_or_bound_to_a_local_input() -> None:
    ruleset = (
        'ruleset(name="central") {\n'
        '    action(type="omfwd" target="10.99.0.20" port="514" protocol="tcp")\n'
        "}\n"
    )
    base = {"service-state": RSYSLOG_ACTIVE}
    relay = 'module(load="imudp")\ninput(type="imudp" port="514" ruleset="central")\n'
    local = 'module(load="imjournal")\ninput(type="imuxsock" ruleset="central")\n'
    expected = ["rsyslog forwards all messages to 10.99.0.20 (tcp port 514)"]
    assert facts({**base, "rsyslog-config": relay + ruleset}).logging_hosts == ()
    assert labels(facts({**base, "rsyslog-config": local + ruleset})) == expected
    called = ruleset + "if $syslogseverity <= 4 then call central\n"
    assert labels(facts({**base, "rsyslog-config": called})) == expected


def test_rsyslog_that_does_not_run_forwards_nothing() -> None:
    config = {"rsyslog-config": "*.* @@10.99.0.20:514\n"}
    stopped = facts({**config, "service-state": service_state(rsyslog="inactive")})
    failed = facts({**config, "service-state": service_state(rsyslog="failed")})
    unknown = facts(config)  # neither systemctl nor the process list was collected
    assert (stopped.logging_hosts, failed.logging_hosts, unknown.logging_hosts) == ((), (), None)


# --- which daemons run ---------------------------------------------------------------------


def test_a_process_list_settles_what_runs_only_when_it_shows_pid_1() -> None:
    config = {"rsyslog-config": "*.* @@10.99.0.20:514\n"}
    whole = "      1 init\n    214 rsyslogd\n    230 dropbear\n"
    hidden = "   2290 sh\n   2298 ps\n"  # /proc mounted hidepid: only the session's own
    assert labels(facts({**config, "processes": whole})) == [
        "rsyslog forwards *.* to 10.99.0.20 (tcp port 514)"
    ]
    assert facts({**config, "processes": hidden}).logging_hosts is None
    nothing = facts({**config, "processes": "      1 init\n    230 dropbear\n"})
    assert nothing.logging_hosts == ()


def test_a_running_syslog_daemon_whose_configuration_is_not_read_is_unknown() -> None:
    syslog_ng = facts(
        {
            "service-state": service_state(syslog_ng="active"),
            "syslog-ng-config": '@version: 3.38\ndestination d { network("10.99.0.20"); };\n',
        }
    )
    busybox = facts({"processes": "      1 init\n    187 syslogd\n    190 klogd\n"})
    assert (syslog_ng.logging_hosts, busybox.logging_hosts) == (None, None)


def test_the_recipe_takes_a_failed_systemctl_as_incomplete() -> None:
    # What systemctl prints on a machine without systemd as PID 1 (this one, a container):
    # nothing on stdout, the reason on stderr, exit status 1.
    commands = {c.name: c for c in load_recipe("linux").commands}
    assert commands["service-state"].complete.problem("", 1) is not None
    assert commands["service-state"].complete.problem(service_state(), 0) is None
    assert commands["clock-sync"].complete.problem("", 1) is not None


def test_journal_upload_url_and_its_running_state() -> None:
    config = "[Upload]\nURL=10.99.0.20\nTrustedCertificateFile=/etc/ssl/certs/plant-ca.pem\n"
    running = service_state(systemd_journal_upload="active")
    found = facts({"service-state": running, "journal-upload-config": config})
    assert labels(found) == ["systemd-journal-upload URL=10.99.0.20"]
    assert found.logging_hosts is not None and found.logging_hosts[0].address == "10.99.0.20"
    # Running with no URL= in the file: it came from its command line, which is not read.
    commented = "[Upload]\n# URL=\n"
    assert (
        facts({"service-state": running, "journal-upload-config": commented}).logging_hosts is None
    )
    stopped = facts({"service-state": service_state(), "journal-upload-config": config})
    assert stopped.logging_hosts == ()


# --- NTP -----------------------------------------------------------------------------------

TIMESYNCD_ACTIVE = service_state(systemd_timesyncd="active")


def test_timesyncd_drop_ins_apply_in_name_order_and_an_empty_assignment_resets() -> None:
    found = facts(
        {
            "service-state": TIMESYNCD_ACTIVE,
            "timesyncd-config": DEBIAN_TIMESYNCD_CONF.replace("#NTP=", "NTP=pool.ntp.org"),
            "timesyncd-conf-d": (
                "==> /etc/systemd/timesyncd.conf.d/90-backup.conf <==\n"
                "[Time]\n"
                "NTP=10.99.0.22\n"
                "\n"
                "==> /etc/systemd/timesyncd.conf.d/50-plant.conf <==\n"
                "[Time]\n"
                "NTP=\n"
                "NTP=10.99.0.21\n"
            ),
        }
    )
    assert labels(found, "ntp_servers") == [
        "systemd-timesyncd NTP=10.99.0.21",
        "systemd-timesyncd NTP=10.99.0.22",
    ]
    assert cited(found, "ntp_servers")[0] == [
        ("gw/timesyncd-conf-d.txt", 8),
        ("gw/service-state.txt", 18),
    ]


def test_timesyncd_falls_back_to_the_debian_pool_only_on_debian() -> None:
    base = {"service-state": TIMESYNCD_ACTIVE, "timesyncd-config": DEBIAN_TIMESYNCD_CONF}
    debian = facts(
        {**base, "os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'}
    )
    yocto = facts({**base, "os-release": "ID=poky\nVERSION_ID=4.0.17\n"})
    assert [s.address for s in debian.ntp_servers or ()] == [
        "0.debian.pool.ntp.org",
        "1.debian.pool.ntp.org",
        "2.debian.pool.ntp.org",
        "3.debian.pool.ntp.org",
    ]
    assert yocto.ntp_servers is None
    # An empty FallbackNTP= leaves only what DHCP hands out: unknown.
    emptied = DEBIAN_TIMESYNCD_CONF.replace("#FallbackNTP=0.debian", "FallbackNTP=\n#0.debian")
    assert (
        facts({**base, "timesyncd-config": emptied, "os-release": "ID=debian\n"}).ntp_servers
        is None
    )


def test_an_installed_but_stopped_timesyncd_synchronises_nothing() -> None:
    stopped = service_state(systemd_timesyncd="inactive")
    conf = "[Time]\nNTP=10.99.0.21\n"
    assert facts({"service-state": stopped, "timesyncd-config": conf}).ntp_servers == ()
    # Without systemctl or a process list, the configuration alone proves nothing.
    assert facts({"timesyncd-config": conf}).ntp_servers is None


def test_chrony_reads_sources_d_and_names_the_sourcedir_line() -> None:
    found = facts(
        {
            "service-state": service_state(chrony="active"),
            "chrony-config": "==> /etc/chrony/chrony.conf <==\n" + DEBIAN_CHRONY_CONF,
            "chrony-sources-d": (
                "==> /etc/chrony/sources.d/plant-a.sources <==\nserver 10.99.0.21 iburst\n"
            ),
        }
    )
    assert labels(found, "ntp_servers") == [
        "chrony pool 2.debian.pool.ntp.org",
        "chrony server 10.99.0.21",
    ]
    assert cited(found, "ntp_servers")[1] == [
        ("gw/chrony-config.txt", 12),
        ("gw/chrony-sources-d.txt", 2),
        ("gw/service-state.txt", 23),
    ]


def test_chrony_sources_only_from_folders_not_collected_are_unknown() -> None:
    dhcp_only = "confdir /etc/chrony/conf.d\nsourcedir /run/chrony-dhcp\n"
    running = service_state(chrony="active")
    assert facts({"service-state": running, "chrony-config": dhcp_only}).ntp_servers is None
    # Yocto's /etc/chrony.conf (read whole from a saved root file system) with an include
    # of the collected conf.d.
    yocto = "include /etc/chrony/conf.d/*.conf\n"
    found = facts(
        {
            "processes": "      1 init\n    301 chronyd\n",
            "chrony-config": yocto,
            "chrony-conf-d": "==> /etc/chrony/conf.d/plant.conf <==\nserver 10.99.0.21 iburst\n",
        }
    )
    assert labels(found, "ntp_servers") == ["chrony server 10.99.0.21"]


def test_ntpd_reference_clocks_are_not_servers_and_an_includefile_is_unknown() -> None:
    running = {"processes": "      1 init\n    196 ntpd\n"}
    local_clock = (
        "==> /etc/ntp.conf <==\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 10\n"
        "server -4 10.99.0.21 iburst\n"
    )
    found = facts({**running, "ntp-config": local_clock})
    assert labels(found, "ntp_servers") == ["ntpd server 10.99.0.21"]
    included = "==> /etc/ntpsec/ntp.conf <==\nincludefile /etc/ntpsec/servers.conf\n"
    assert facts({**running, "ntp-config": included}).ntp_servers is None


def test_an_unsynchronised_clock_is_named_beside_its_servers() -> None:
    found = facts(
        {
            "service-state": TIMESYNCD_ACTIVE,
            "clock-sync": "NTP=yes\nNTPSynchronized=no\n",
            "timesyncd-config": "[Time]\nNTP=10.99.0.21\n",
        }
    )
    assert labels(found, "ntp_servers") == [
        "systemd-timesyncd NTP=10.99.0.21 (clock not synchronised)"
    ]


# --- a saved root file system ---------------------------------------------------------------


def rootfs(root: Path, files: dict[str, str]) -> tuple[DeviceFacts, dict[str, Path | None]]:
    """A whole image (etc/passwd and usr/): a file it lacks is known to be absent."""
    for relative, text in {
        "etc/os-release": 'ID=debian\nVERSION_ID="12"\n',
        "etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
        "usr/bin/.keep": "",
        **files,
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    (config,) = discover([root])
    artifacts = read_bundle(config)
    found = parse_bundle(
        artifacts, source=str(root), sha256="0" * 64, name_hint="gw", platform="linux"
    )
    return found, dict(config.artifacts)


def test_a_root_file_system_settles_only_that_nothing_is_configured(tmp_path: Path) -> None:
    quiet, artifacts = rootfs(
        tmp_path / "quiet",
        {
            "etc/rsyslog.conf": DEBIAN_RSYSLOG_CONF,
            "etc/systemd/timesyncd.conf": DEBIAN_TIMESYNCD_CONF,
        },
    )
    assert artifacts["rsyslog-config"] == tmp_path / "quiet/etc/rsyslog.conf"
    assert artifacts["chrony-config"] is None  # not in the image: chrony is not installed
    # No file forwards the log: a fail whatever runs. Whether timesyncd runs is unknown.
    assert (quiet.logging_hosts, quiet.ntp_servers) == ((), None)
    forwarding, artifacts = rootfs(
        tmp_path / "forwarding",
        {
            "etc/rsyslog.conf": DEBIAN_RSYSLOG_CONF,
            "etc/rsyslog.d/60-remote.conf": "*.* @@10.99.0.20:514\n",
            "etc/rsyslog.d/README": "not read\n",
        },
    )
    assert artifacts["rsyslog-conf-d/60-remote.conf"] is not None
    assert "rsyslog-conf-d/README" not in artifacts
    assert (forwarding.logging_hosts, forwarding.ntp_servers) == (None, ())
