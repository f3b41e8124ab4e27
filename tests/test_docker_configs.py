"""The files in docker/ (Dockerfile, compose.yaml, cluster.yaml, rayjob.yaml) checked for real, without Docker:

- pinned versions (torch, torchvision, Ray, the images' Ray tag and Python) equal pyproject.toml's;
- every `mosaic-sweep ...` command in them, comments included, parses with the CLI's own parser, and every `ray ...`
  command (`ray start` above all, and KubeRay's rayStartParams) with Ray's own click definitions;
- cluster.yaml validates against the schema that `ray up` itself uses;
- the dashboard is published on loopback only, token authentication is on with no token in any file, /dev/shm is
  sized, results go to storage every node shares.

A shell command is a line (or YAML string, or list of strings) whose segment starts with `mosaic-sweep WORD` or
`ray WORD`, after any VAR=value prefixes; `mosaic-sweep WORD` also counts after `--` and after `exec SERVICE`.
Prose comments must therefore not start a sentence with those two words.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import tomllib
from pathlib import Path

import click
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
IGNORE_FILE = DOCKER / "Dockerfile.dockerignore"  # BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile
YAML_FILES = ("compose.yaml", "cluster.yaml", "rayjob.yaml")
ALL_FILES = ("Dockerfile", "Dockerfile.dockerignore", *YAML_FILES)
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", "<", ">", ">>", ">&", "<&", "2>", "&>"}


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def pins(pyproject) -> dict[str, str]:
    """name -> exact version, for every `name==version` dependency of pyproject.toml."""
    out = {}
    for line in pyproject["project"]["dependencies"]:
        req = Requirement(line)
        exact = [s.version for s in req.specifier if s.operator == "=="]
        if exact:
            out[req.name.lower()] = exact[0]
    assert {"torch", "torchvision", "ray"} <= set(out), f"pyproject.toml no longer pins torch/torchvision/ray: {out}"
    return out


def text(name: str) -> str:
    return (DOCKER / name).read_text()


def load(name: str):
    docs = [d for d in yaml.safe_load_all(text(name)) if d is not None]
    assert len(docs) == 1, f"{name}: expected one YAML document, found {len(docs)}"
    return docs[0]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        instr, _, args = line.partition(" ")
        out.append((instr.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def comment_lines(body: str) -> list[str]:
    """Full-line comments (YAML and Dockerfile), without the '#'; parser directives are not comments."""
    return [
        line.strip()[1:].strip()
        for line in body.splitlines()
        if line.strip().startswith("#") and not line.strip().startswith("# syntax=")
    ]


def strings_in(node) -> list[str]:
    """Every string scalar of a parsed YAML tree, plus every list of scalars joined as an argv."""
    out = []
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for value in node.values():
            out += strings_in(value)
    elif isinstance(node, list):
        if node and all(isinstance(v, (str, int, float)) for v in node):
            out.append(shlex.join(str(v) for v in node))
        for value in node:
            out += strings_in(value)
    return out


def shell_texts(name: str) -> list[tuple[str, bool]]:
    """(text, from_comment) pairs that may hold shell commands, for one file of docker/."""
    body = text(name)
    found = [(c, True) for c in comment_lines(body)]
    if name == "Dockerfile":
        for instr, args in dockerfile_instructions():
            if instr in ("RUN", "CMD", "ENTRYPOINT"):
                found.append((shlex.join(json.loads(args)) if args.startswith("[") else args, False))
    elif name.endswith(".yaml"):
        found += [(s, False) for s in strings_in(load(name))]
    return found


def segments(line: str, where: str, from_comment: bool) -> list[list[str]]:
    """Shell segments (split at && ; | and friends) of one line; prose comments that do not tokenize are skipped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:
        if from_comment and not re.search(r"(^|[\s;&|(-])(mosaic-sweep|ray)\s+-{0,2}[a-z]", line):
            return []  # prose with an apostrophe
        raise AssertionError(f"{where}: cannot tokenize command line {line!r}") from None
    out, current = [], []
    for token in tokens:
        if token in SEPARATORS or (token and set(token) <= set("();<>|&")):
            out.append(current)
            current = []
        else:
            current.append(token)
    out.append(current)
    return [s for s in out if s]


def strip_assignments(segment: list[str]) -> list[str]:
    i = 0
    while i < len(segment) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", segment[i]):
        i += 1
    return segment[i:]


def commands(name: str, program: str) -> list[tuple[list[str], str]]:
    """Every `program ...` command (argv after the program name) in a file of docker/, with where it was found."""
    found = []
    for body, from_comment in shell_texts(name):
        for line in re.sub(r"\\\n", " ", body).splitlines():
            where = f"docker/{name}: {line.strip()[:120]!r}"
            for seg in segments(line, where, from_comment):
                seg = strip_assignments(seg)
                starts = [0] if seg and seg[0] == program else []
                if (
                    program == "mosaic-sweep"
                ):  # also `ray job submit ... -- mosaic-sweep`, `compose exec head mosaic-sweep`
                    starts += [
                        i
                        for i in range(1, len(seg))
                        if seg[i] == program and (seg[i - 1] == "--" or (i >= 2 and seg[i - 2] == "exec"))
                    ]
                for i in starts:
                    argv = seg[i + 1 :]
                    if argv and re.fullmatch(r"-{0,2}[a-z][a-z0-9-]*", argv[0]):
                        found.append((argv, where))
    return found


def parse_mosaic_sweep(argv: list[str], where: str):
    from orchestrator.cli import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{where}: `mosaic-sweep {shlex.join(argv)}` does not parse: {err.getvalue().strip()}")


def check_ray_command(argv: list[str], where: str) -> click.Command:
    """Parse `ray ARGV` with Ray's click commands (flags, their values, subcommands); nothing is run."""
    from ray.scripts.scripts import cli

    cmd, name, args, parent = cli, "ray", list(argv), None
    try:
        while True:
            ctx = cmd.make_context(name, args, parent=parent)
            if not isinstance(cmd, click.Group):
                return cmd
            rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
            assert rest, f"{where}: `ray {shlex.join(argv)}` names no subcommand"
            name, cmd, args = cmd.resolve_command(ctx, rest)
            parent = ctx
    except click.ClickException as exc:
        pytest.fail(f"{where}: `ray {shlex.join(argv)}` is not a valid Ray command: {exc.format_message()}")


def flag_value(argv: list[str], flag: str) -> str | None:
    for i, token in enumerate(argv):
        if token.startswith(flag + "="):
            return token.split("=", 1)[1]
        if token == flag and i + 1 < len(argv):
            return argv[i + 1]
    return None


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env") or []}


# ---------------------------------------------------------------- all files


def test_all_files_exist():
    for name in ALL_FILES:
        assert (DOCKER / name).is_file(), f"docker/{name} is missing"
    # compose.yaml suggests docker/.env for RAY_AUTH_TOKEN: git must never pick it up
    assert ".env" in (DOCKER / ".gitignore").read_text().split()


def test_pins_match_pyproject(pins, pyproject):
    """A version bump in pyproject.toml that forgets a config file fails here."""
    seen = {"torch": set(), "torchvision": set(), "ray": set()}
    for name in ALL_FILES:
        body = text(name)
        for pkg, version in re.findall(r"(?<![\w./-])(torch|torchvision)==([\w.+]+)", body):
            assert version == pins[pkg], f"docker/{name}: {pkg}=={version}, pyproject.toml pins {pins[pkg]}"
            seen[pkg].add(name)
        for version in re.findall(r"(?<![\w./-])ray(?:\[[\w,\s]*\])?==([\w.]+)", body):
            assert version == pins["ray"], f"docker/{name}: ray=={version}, pyproject.toml pins {pins['ray']}"
        for version, _python, _ in re.findall(r"rayproject/ray:([\d.]+)-py(\d)(\d+)?", body):
            assert version == pins["ray"], f"docker/{name}: image rayproject/ray:{version}-..., Ray pin {pins['ray']}"
            seen["ray"].add(name)
        for tag in re.findall(r"rayproject/ray:([\w.-]+)", body):
            assert tag in (f"{pins['ray']}-py311-gpu", f"{pins['ray']}-py311"), f"docker/{name}: image tag {tag}"
    assert SpecifierSet(pyproject["project"]["requires-python"]).contains("3.11"), "the images run Python 3.11"
    assert {"Dockerfile", "cluster.yaml"} <= seen["torch"] & seen["torchvision"], seen
    assert {"Dockerfile", "cluster.yaml", "rayjob.yaml"} <= seen["ray"], seen
    assert load("rayjob.yaml")["spec"]["rayClusterSpec"]["rayVersion"] == pins["ray"]


def test_every_mosaic_sweep_command_parses():
    from search_spaces import REGISTRY

    total = {}
    for name in ALL_FILES:
        found = commands(name, "mosaic-sweep")
        total[name] = len(found)
        for argv, where in found:
            args = parse_mosaic_sweep(argv, where)
            if args.command == "run":
                assert args.space in REGISTRY, f"{where}: unknown space {args.space!r}; spaces: {', '.join(REGISTRY)}"
                if name != "Dockerfile":  # on a cluster, the driver joins it
                    assert args.address == "auto", f"{where}: a cluster run needs --address auto"
    for name in ("Dockerfile", *YAML_FILES):
        assert total[name] >= 1, f"docker/{name}: no mosaic-sweep command found (the extraction broke?)"


def test_every_ray_command_parses():
    """`ray start` flags (and every other `ray ...` line) exist in Ray 2.60's own CLI, with valid values."""
    starts = 0
    for name in ALL_FILES:
        for argv, where in commands(name, "ray"):
            cmd = check_ray_command(argv, where)
            starts += cmd.name == "start"
    assert starts >= 4, f"expected ray start commands in compose.yaml and cluster.yaml, found {starts}"


def test_no_token_in_any_file():
    for name in ALL_FILES:
        for number, line in enumerate(text(name).splitlines(), 1):
            where = f"docker/{name}:{number}: {line.strip()}"
            assert not re.search(r"\b[0-9a-fA-F]{32,}\b", line), f"{where}: looks like a literal token"
            assert not re.search(r"--from-literal=auth_token", line), f"{where}: token on a command line"
            m = re.search(r"RAY_AUTH_TOKEN[\"']?\s*[:=]\s*[\"']?([^\s\"'#]+)", line)
            if m and not line.strip().startswith("#"):
                assert m.group(1).startswith("$"), f"{where}: RAY_AUTH_TOKEN must come from the environment"
        assert "stringData" not in text(name) and "kind: Secret" not in text(name), f"docker/{name}: a Secret"


def test_nothing_binds_all_interfaces_unless_marked():
    """0.0.0.0 / :: only on lines that say why they are safe (inside a container or pod network)."""
    for name in ALL_FILES:
        for number, line in enumerate(text(name).splitlines(), 1):
            if re.search(r"0\.0\.0\.0|\[::\]|(?<![\w:])::(?![\w:])", line) and not line.strip().startswith("#"):
                assert "loopback-safe:" in line, f"docker/{name}:{number}: binds all interfaces: {line.strip()}"


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_base_image_and_cpu_variant(pins):
    instrs = dockerfile_instructions()
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for i, a in instrs if i == "ARG" and "=" in a}
    assert args["BASE_IMAGE"] == f"rayproject/ray:{pins['ray']}-py311-gpu"
    froms = [a for i, a in instrs if i == "FROM"]
    assert froms == ["${BASE_IMAGE}"], f"one stage, FROM the BASE_IMAGE build argument: {froms}"
    first_from = next(n for n, (i, _) in enumerate(instrs) if i == "FROM")
    assert any(i == "ARG" and a.startswith("BASE_IMAGE=") for i, a in instrs[:first_from]), "ARG before FROM"
    body = DOCKERFILE.read_text()
    assert f"--build-arg BASE_IMAGE=rayproject/ray:{pins['ray']}-py311 " in body, "the CPU build command"
    assert "TORCH_INDEX_URL" in args and "${TORCH_INDEX_URL}" in body


def test_dockerfile_installs_project_with_pins(pins, pyproject):
    instrs = dockerfile_instructions()
    runs = [a for i, a in instrs if i == "RUN"]
    torch_runs = [r for r in runs if "pip install" in r and "torch==" in r]
    assert (
        torch_runs
        and f"torch=={pins['torch']}" in torch_runs[0]
        and f"torchvision=={pins['torchvision']}" in torch_runs[0]
    )
    project = [n for n, (i, a) in enumerate(instrs) if i == "RUN" and re.search(r"pip install\b[^&;]*\s\.(\s|$)", a)]
    assert project, "no `pip install .` of the project"
    torch_at = next(n for n, (i, a) in enumerate(instrs) if i == "RUN" and "torch==" in a)
    copies = [n for n, (i, _) in enumerate(instrs) if i == "COPY"]
    assert torch_at < min(copies) < project[0], "torch layer before the source COPY (cache), install after it"
    # every package, and the files `pip install .` reads, are copied; every COPY source exists
    sources = set()
    for i, a in instrs:
        if i == "COPY":
            parts = [p for p in shlex.split(a) if not p.startswith("--")]
            sources |= {p.rstrip("/") for p in parts[:-1]}
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: no such file in the repository"
    needed = {"pyproject.toml", pyproject["project"]["readme"], *pyproject["tool"]["setuptools"]["packages"]}
    assert needed <= sources, f"the Dockerfile does not copy {sorted(needed - sources)}"


def _ignored(rules: list[tuple[bool, re.Pattern]], path: str) -> bool:
    """Docker's .dockerignore semantics: the last matching rule wins; a rule matching a folder covers its files."""
    ignored = False
    parts = path.split("/")
    prefixes = ["/".join(parts[:k]) for k in range(1, len(parts) + 1)]
    for negate, regex in rules:
        if any(regex.fullmatch(p) for p in prefixes):
            ignored = not negate
    return ignored


def _ignore_rules(body: str) -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        rules.append((negate, re.compile(regex.replace(r"\?", "[^/]"))))
    return rules


@pytest.mark.parametrize("ignore_file", [IGNORE_FILE, ROOT / ".dockerignore"], ids=["docker", "root"])
def test_dockerignore_keeps_sources_and_drops_secrets(ignore_file, pyproject):
    if not ignore_file.exists():
        pytest.skip(f"{ignore_file.name} not present")
    rules = _ignore_rules(ignore_file.read_text())
    needed = ["pyproject.toml", pyproject["project"]["readme"]]
    for package in pyproject["tool"]["setuptools"]["packages"]:
        needed += [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py")]
    for path in needed:
        assert not _ignored(rules, path), f"{ignore_file.name} drops {path}, which the image needs"
    for path in [
        ".venv/bin/python",
        "results/tables-smoke/run.json",
        ".env",
        "docker/.env",
        ".git/config",
        "data/cifar-10-batches-bin/data_batch_1.bin",
        "trainables/__pycache__/nets.cpython-311.pyc",
    ]:
        assert _ignored(rules, path), f"{ignore_file.name} lets {path} into the build context"


# ---------------------------------------------------------------- compose.yaml


def _shm_bytes(value) -> int:
    m = re.fullmatch(r"(\d+)\s*([kmg]?)b?", str(value).strip().lower())
    assert m, f"shm_size {value!r}"
    return int(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)]


def _argv(command) -> list[str]:
    return [str(c) for c in command] if isinstance(command, list) else shlex.split(command)


def test_compose_cluster():
    compose = load("compose.yaml")
    services = compose["services"]
    workers = {k: v for k, v in services.items() if k != "head"}
    assert "head" in services and workers
    head_argv = _argv(services["head"]["command"])
    assert head_argv[:3] == ["ray", "start", "--head"] and "--block" in head_argv
    assert flag_value(head_argv, "--port") in (None, "6379")
    for name, worker in workers.items():
        argv = _argv(worker["command"])
        assert argv[:2] == ["ray", "start"] and flag_value(argv, "--address") == "head:6379" and "--block" in argv, (
            f"{name}: {argv}"
        )
        assert "head" in worker.get("depends_on", []), name
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        build = service.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert context == ROOT and (context / build["dockerfile"]).resolve() == DOCKERFILE.resolve(), name
        # /dev/shm holds the object store
        assert _shm_bytes(service["shm_size"]) >= 2**30, f"{name}: shm_size {service.get('shm_size')}"
        # token auth from the environment
        env = service["environment"]
        env = dict(e.split("=", 1) for e in env) if isinstance(env, list) else env
        assert env.get("RAY_AUTH_MODE") == "token", name
        assert re.fullmatch(r"\$\{RAY_AUTH_TOKEN(:?[?-][^}]*)?\}", str(env.get("RAY_AUTH_TOKEN"))), (
            f"{name}: RAY_AUTH_TOKEN must be ${{RAY_AUTH_TOKEN...}} from the environment"
        )


def test_compose_ports_loopback_only():
    services = load("compose.yaml")["services"]
    published = []
    for name, service in services.items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: use the 'HOST_IP:HOST:CONTAINER' form, got {port!r}"
            host_ip = port.rsplit(":", 2)[0] if port.count(":") >= 2 else None
            assert host_ip in LOOPBACK, f"{name}: port {port} is published on every interface"
            published.append((name, port.rsplit(":", 1)[-1].split("/")[0]))
    assert ("head", "8265") in published, "the dashboard is published on the head"
    assert not [p for p in published if p[1] == "6379"], "the GCS port is never published"


def test_compose_gpus_one_per_worker():
    services = load("compose.yaml")["services"]
    used = []
    for name, service in services.items():
        devices = (service.get("deploy") or {}).get("resources", {}).get("reservations", {}).get("devices", [])
        if name == "head":
            assert not devices, "the head needs no GPU"
            continue
        assert len(devices) == 1 and devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"], name
        assert "device_ids" in devices[0], f"{name}: count=1 on every worker would give them all GPU 0"
        used += devices[0]["device_ids"]
    assert len(used) == len(set(used)), f"two workers share a GPU: {used}"


def _mount(volume: str) -> tuple[str, str]:
    """'SOURCE:TARGET[:MODE]' -> (TARGET, SOURCE); SOURCE may be a ${VAR:-default} interpolation."""
    rest, _, mode = volume.rpartition(":")
    if mode not in ("ro", "rw", "z", "Z"):
        rest = volume
    source, _, target = rest.rpartition(":")
    return target, source


def test_compose_storage_shared_and_data_on_head_only():
    services = load("compose.yaml")["services"]
    mounts = {name: dict(_mount(v) for v in s.get("volumes", [])) for name, s in services.items()}
    runs = [parse_mosaic_sweep(argv, where) for argv, where in commands("compose.yaml", "mosaic-sweep")]
    runs = [a for a in runs if a.command == "run"]
    assert runs
    for args in runs:
        # the same named volume at --storage on every node
        sources = {m.get(args.results_dir) for m in mounts.values()}
        assert len(sources) == 1 and None not in sources, f"--storage {args.results_dir} not on every node: {mounts}"
        assert sources.pop() in load("compose.yaml")["volumes"], "results is a named volume"
        assert args.data_dir in mounts["head"], f"--data-dir {args.data_dir} is not mounted on the head"
        assert not any(args.data_dir in mounts[n] for n in services if n != "head"), "workers need no data"


# ---------------------------------------------------------------- cluster.yaml (ray up)


def test_cluster_yaml_valid_for_ray_up():
    import jsonschema
    import ray.autoscaler

    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    config = load("cluster.yaml")
    jsonschema.validate(config, schema)
    types = config["available_node_types"]
    assert config["head_node_type"] in types
    workers = {k: v for k, v in types.items() if k != config["head_node_type"]}
    assert workers and all(w["max_workers"] <= config["max_workers"] for w in workers.values())
    assert all(w["min_workers"] == 0 for w in workers.values()), "GPU workers scale from zero"


def test_cluster_yaml_security_and_storage(pins):
    config = load("cluster.yaml")
    docker = config["docker"]
    assert docker["image"] == f"rayproject/ray:{pins['ray']}-py311-gpu"
    options = " ".join(docker.get("run_options", []))
    assert re.search(r"(-e|--env)[ =]RAY_AUTH_MODE=token\b", options), "token auth for every process in the container"
    assert "--shm-size" in options or docker.get("disable_shm_size_detection") is False, "shm sized"
    assert "RAY_AUTH_TOKEN" not in text("cluster.yaml"), "the token travels as ~/.ray/auth_token, not in this file"
    mounts = config["file_mounts"]
    assert mounts.get("/home/ray/.ray/auth_token") == "~/.ray/auth_token"
    project = [remote for remote, local in mounts.items() if local in (".", "./")]
    assert project and any(f"pip install --no-cache-dir {project[0]}" in c for c in config["setup_commands"])
    head_start = [argv for argv, _ in commands("cluster.yaml", "ray") if argv[0] == "start" and "--head" in argv]
    assert head_start and all(flag_value(a, "--dashboard-host") in (None, *LOOPBACK) for a in head_start)
    assert [
        a
        for a, _ in commands("cluster.yaml", "ray")
        if a[0] == "start" and "--head" not in a and flag_value(a, "--address") == "$RAY_HEAD_IP:6379"
    ], "workers join the head"
    assert any(argv[0] == "dashboard" for argv, _ in commands("cluster.yaml", "ray")), "ray dashboard (SSH tunnel)"
    for argv, where in commands("cluster.yaml", "mosaic-sweep"):
        args = parse_mosaic_sweep(argv, where)
        if args.command == "run":
            assert "://" in args.results_dir, f"{where}: several nodes need shared --storage (s3://...)"


# ---------------------------------------------------------------- rayjob.yaml (KubeRay)


def _pods(job: dict) -> dict[str, dict]:
    cluster = job["spec"]["rayClusterSpec"]
    pods = {"head": cluster["headGroupSpec"]["template"]["spec"]}
    pods |= {f"worker {g['groupName']}": g["template"]["spec"] for g in cluster["workerGroupSpecs"]}
    return pods


def test_rayjob_structure():
    job = load("rayjob.yaml")
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    argv = shlex.split(spec["entrypoint"])
    assert argv[0] == "mosaic-sweep"
    args = parse_mosaic_sweep(argv[1:], "docker/rayjob.yaml entrypoint")
    assert args.command == "run" and args.address == "auto"
    assert re.match(r"(s3|gs)://", args.results_dir), "every pod must reach --storage: an object store URI"
    assert args.download or args.data_dir, "the driver needs CIFAR-10"
    assert spec.get("shutdownAfterJobFinishes") is True
    groups = spec["rayClusterSpec"]["workerGroupSpecs"]
    assert groups
    for group in groups:
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert int(limits.get("nvidia.com/gpu", 0)) >= 1, f"worker group {group['groupName']} has no GPU"
    images = {c["image"] for pod in _pods(job).values() for c in pod["containers"]}
    assert len(images) == 1, f"head and workers run one image: {images}"


# Field names of KubeRay's ray.io/v1 types (ray-operator/apis/ray/v1): a misspelt field is dropped by the API server.
RAYJOB_SPEC = {
    "activeDeadlineSeconds",
    "backoffLimit",
    "clusterSelector",
    "deletionStrategy",
    "entrypoint",
    "entrypointNumCpus",
    "entrypointNumGpus",
    "entrypointResources",
    "jobId",
    "managedBy",
    "metadata",
    "rayClusterSpec",
    "runtimeEnvYAML",
    "shutdownAfterJobFinishes",
    "submissionMode",
    "submitterConfig",
    "submitterPodTemplate",
    "suspend",
    "ttlSecondsAfterFinished",
}
RAYCLUSTER_SPEC = {
    "authOptions",
    "autoscalerOptions",
    "enableInTreeAutoscaling",
    "gcsFaultToleranceOptions",
    "headGroupSpec",
    "headServiceAnnotations",
    "managedBy",
    "rayVersion",
    "suspend",
    "workerGroupSpecs",
}
HEAD_GROUP = {"enableIngress", "headService", "rayStartParams", "serviceType", "template"}
WORKER_GROUP = {
    "groupName",
    "idleTimeoutSeconds",
    "maxReplicas",
    "minReplicas",
    "numOfHosts",
    "rayStartParams",
    "replicas",
    "scaleStrategy",
    "suspend",
    "template",
}


def test_rayjob_field_names():
    spec = load("rayjob.yaml")["spec"]
    cluster = spec["rayClusterSpec"]
    assert set(spec) <= RAYJOB_SPEC, set(spec) - RAYJOB_SPEC
    assert set(cluster) <= RAYCLUSTER_SPEC, set(cluster) - RAYCLUSTER_SPEC
    assert set(cluster["headGroupSpec"]) <= HEAD_GROUP, set(cluster["headGroupSpec"]) - HEAD_GROUP
    for group in cluster["workerGroupSpecs"]:
        assert set(group) <= WORKER_GROUP, set(group) - WORKER_GROUP
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], group["groupName"]


def test_rayjob_start_params_are_ray_start_flags():
    cluster = load("rayjob.yaml")["spec"]["rayClusterSpec"]
    groups = [("head", cluster["headGroupSpec"], ["--head"])]
    groups += [(g["groupName"], g, ["--address=head:6379"]) for g in cluster["workerGroupSpecs"]]
    for name, group, base in groups:
        params = group.get("rayStartParams") or {}
        assert all(isinstance(v, str) for v in params.values()), f"{name}: rayStartParams values are strings"
        argv = ["start", *base, *(f"--{k}={v}" for k, v in params.items())]
        check_ray_command(argv, f"docker/rayjob.yaml rayStartParams of {name}")


def test_rayjob_token_auth_from_secret():
    job = load("rayjob.yaml")
    containers = {f"{pod_name}/{c['name']}": c for pod_name, pod in _pods(job).items() for c in pod["containers"]}
    containers |= {f"submitter/{c['name']}": c for c in job["spec"]["submitterPodTemplate"]["spec"]["containers"]}
    for name, container in containers.items():
        env = env_of(container)
        assert env.get("RAY_AUTH_MODE", {}).get("value") == "token", f"{name}: RAY_AUTH_MODE=token"
        token = env.get("RAY_AUTH_TOKEN", {})
        assert "value" not in token and token.get("valueFrom", {}).get("secretKeyRef", {}).get("name"), (
            f"{name}: RAY_AUTH_TOKEN must come from a Secret (valueFrom.secretKeyRef)"
        )


def test_rayjob_shm_and_private_dashboard():
    job = load("rayjob.yaml")
    for pod_name, pod in _pods(job).items():
        memory_volumes = {v["name"] for v in pod.get("volumes", []) if v.get("emptyDir", {}).get("medium") == "Memory"}
        mounts = {m["mountPath"]: m["name"] for c in pod["containers"] for m in c.get("volumeMounts", [])}
        assert mounts.get("/dev/shm") in memory_volumes, f"{pod_name}: /dev/shm must be an emptyDir of medium Memory"
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]
    assert head.get("serviceType", "ClusterIP") == "ClusterIP", "no LoadBalancer/NodePort for the dashboard"
    assert not head.get("enableIngress"), "no Ingress for the dashboard"
    service_type = (head.get("headService") or {}).get("spec", {}).get("type", "ClusterIP")
    assert service_type == "ClusterIP", f"head service of type {service_type}"


# ---------------------------------------------------------------- monitoring (Prometheus + Grafana)


def test_monitoring_stack_scrapes_every_compose_node_and_publishes_on_loopback_only():
    services = load("compose.yaml")["services"]
    ports = {name: flag_value(_argv(s["command"]), "--metrics-export-port") for name, s in services.items()}
    assert set(ports.values()) == {"8080"}, f"every Ray node exports its metrics on a fixed port: {ports}"
    scrape = yaml.safe_load((DOCKER / "prometheus.yml").read_text())["scrape_configs"]
    targets = {t for job in scrape for c in job["static_configs"] for t in c["targets"]}
    assert targets == {f"{name}:8080" for name in services}
    monitoring = yaml.safe_load((DOCKER / "monitoring.yaml").read_text())["services"]
    assert set(monitoring) == {"prometheus", "grafana"}
    for name, service in monitoring.items():
        for port in service.get("ports", []):
            assert port.split(":")[0] in LOOPBACK, f"{name}: {port} is published on every interface"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DOCKER / source).exists(), f"{name}: {source} is missing"


def test_grafana_dashboard_shows_every_trial_gauge():
    import json

    from trainables.tune_trial import GAUGES

    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "mosaic-sweep.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    for name in GAUGES:
        assert f"ray_mosaic_sweep_{name}{{" in exprs, name
    source = yaml.safe_load((DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    uids = {d["uid"] for d in source["datasources"]}
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} <= uids


def test_rayjob_pods_run_unprivileged_and_only_their_own_pods_reach_them():
    job = load("rayjob.yaml")
    spec = job["spec"]
    pods = [spec["submitterPodTemplate"]["spec"], spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]]
    pods += [g["template"]["spec"] for g in spec["rayClusterSpec"]["workerGroupSpecs"]]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"]
    policy = yaml.safe_load((DOCKER / "rayjob-network.yaml").read_text())
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["policyTypes"] == ["Ingress"]
    assert policy["spec"]["podSelector"]["matchLabels"] == {"ray.io/is-ray-node": "yes"}
    sources = [s for rule in policy["spec"]["ingress"] for s in rule["from"]]
    assert all(set(s) == {"podSelector"} for s in sources), "no namespaceSelector or ipBlock: this namespace only"
    assert {"job-name": job["metadata"]["name"]} in [s["podSelector"]["matchLabels"] for s in sources]


def test_cluster_workers_do_not_get_the_autoscaler_profile():
    cluster = load("cluster.yaml")
    head = cluster["available_node_types"][cluster["head_node_type"]]["node_config"].get("IamInstanceProfile")
    for name, node in cluster["available_node_types"].items():
        if name == cluster["head_node_type"]:
            continue
        profile = node["node_config"]["IamInstanceProfile"]
        assert profile != head and "autoscaler" not in str(profile.get("Name", profile.get("Arn"))), name
