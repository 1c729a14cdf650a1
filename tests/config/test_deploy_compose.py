"""The production docker-compose.yml (docs/deploy.md) refers only to what exists: each
Mailpulse command is a manage.py command or the Celery app with options they accept, each
mounted file is in the repository, each variable set for Mailpulse is one config/settings.py
reads, and the proxy passes websockets on."""

import re

import yaml
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands, load_command_class

from tests.servers import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The services run from the image built from this repository (the Dockerfile).
MAILPULSE = {name: service for name, service in SERVICES.items() if "build" in service}
SETTINGS_READ = set(
    re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', (ROOT / "config/settings.py").read_text())
)


def _options(command) -> set[str]:
    return {option for param in command.params for option in param.opts + param.secondary_opts}


def _check_manage_py(argv: list[str]) -> None:
    name = argv[0]
    assert name in get_commands(), f"no manage.py command {name!r}"
    # Parsing fails (SystemExit) on an option the command does not accept.
    load_command_class(get_commands()[name], name).create_parser("manage.py", name).parse_args(
        argv[1:]
    )


def _check_celery(argv: list[str]) -> None:
    assert argv[:2] == ["-A", "config"]
    sub = celery_cli.commands[argv[2]]
    given = {arg for arg in argv[3:] if arg.startswith("-")}
    assert given <= _options(sub), f"celery {argv[2]} has no option {given - _options(sub)}"


def test_the_mailpulse_services_are_web_worker_beat_and_migrate():
    assert set(MAILPULSE) == {"web", "worker", "beat", "migrate"}
    assert (ROOT / "Dockerfile").is_file()


def test_every_mailpulse_command_exists_with_the_options_it_is_given():
    for name, service in MAILPULSE.items():
        command = service["command"]
        if command[:2] == ["python", "manage.py"]:
            _check_manage_py(command[2:])
        else:
            assert command[0] == "celery", name
            _check_celery(command[1:])
    assert SERVICES["web"]["command"][2] == "serve"


def test_exactly_one_beat_and_migrations_run_once_before_the_rest():
    beats = [s for s in SERVICES.values() if "beat" in s.get("command", [])]
    assert len(beats) == 1
    assert beats[0].get("deploy", {}).get("replicas", 1) == 1
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        condition = SERVICES[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_every_variable_set_for_mailpulse_is_one_the_settings_read():
    for name, service in MAILPULSE.items():
        unknown = set(service["environment"]) - SETTINGS_READ
        assert unknown == set(), f"{name} sets {unknown}, which config/settings.py never reads"


def test_every_mounted_file_exists():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"


def test_redis_keeps_an_append_only_file_and_never_evicts():
    command = SERVICES["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


def test_web_stops_within_its_grace_period():
    web = SERVICES["web"]
    grace_s = float(web["environment"]["SHUTDOWN_GRACE_S"])
    assert float(web["stop_grace_period"].removesuffix("s")) > grace_s


def test_the_proxy_passes_websockets_on():
    config = (ROOT / "deploy/nginx.conf").read_text()
    block = re.search(r"location /ws/ \{(.*?)\n\s*\}", config, re.S)
    assert block, "no location for /ws/"
    lines = {" ".join(line.split()) for line in block.group(1).splitlines()}
    assert "proxy_pass http://mailpulse;" in lines
    assert "proxy_http_version 1.1;" in lines
    assert "proxy_set_header Upgrade $http_upgrade;" in lines
    assert "proxy_set_header Connection $connection_upgrade;" in lines
    assert "proxy_set_header Host $host;" in lines
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{\s*default upgrade;", config)
    assert re.search(r"upstream mailpulse \{\s*(#.*\n\s*)*server web:8000", config)
