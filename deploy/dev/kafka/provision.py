"""Applies deploy/kafka/access.toml to the dev broker: a SASL/SCRAM principal per
service and region and a read-only partner principal per region, each with exactly
the ACLs the table gives it. Idempotent: passwords are made once and kept in the
broker's principals directory (`<name>.password`, mode 600); credentials are set
again and ACLs the table no longer gives are removed at every run.

    provision.py BROKERS PRINCIPALS_DIR REGION=PREFIX...

Connects as the brokers' super user `admin` (SASL/PLAIN, its password in
PRINCIPALS_DIR/admin.password), who also gets a SCRAM credential so every client
of the dev stack uses one mechanism.
"""

import os
import secrets
import sys
import tomllib
from pathlib import Path

from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

ACCESS = Path(__file__).resolve().parents[2] / "kafka" / "access.toml"
TIMEOUT = 30
SCRAM_ITERATIONS = 4096

TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
LITERAL, PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
READ, WRITE, DESCRIBE, CREATE = (
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.DESCRIBE,
    AclOperation.CREATE,
)


def instance(name, region):
    """The principal of `name` in `region`: the name, with the region after it
    outside the US (as the dev stack names its processes)."""
    return name if region == "us" else f"{name}-{region}"


def topic(prefix, area):
    return f"{prefix}plinth.{area}.v1"


def grants(access, regions):
    """Every principal and its ACLs as (resource type, name, pattern, operation)."""
    wanted = {}
    for region, prefix in regions.items():
        for service, rules in access["services"].items():
            acls = set()
            for area in rules.get("writes", []):
                name = topic(prefix, area)
                acls |= {(TOPIC, name, LITERAL, op) for op in (WRITE, DESCRIBE, CREATE)}
                acls.add((TOPIC, f"{name}.dlq", LITERAL, CREATE))
            for area in rules.get("reads", []):
                name = topic(prefix, area)
                acls |= {(TOPIC, name, LITERAL, op) for op in (READ, DESCRIBE, CREATE)}
                acls |= {(TOPIC, f"{name}.dlq", LITERAL, op) for op in (WRITE, DESCRIBE, CREATE)}
            for group in rules.get("groups", []):
                acls |= {(GROUP, prefix + group, PREFIXED, op) for op in (READ, DESCRIBE)}
            wanted[instance(service, region)] = acls
        partners = access["partners"]
        acls = set()
        for area in partners["reads"]:
            acls |= {(TOPIC, topic(prefix, area), LITERAL, op) for op in (READ, DESCRIBE)}
        for group in partners["groups"]:
            acls |= {(GROUP, prefix + group, PREFIXED, op) for op in (READ, DESCRIBE)}
        wanted[instance(partners["name"], region)] = acls
    return wanted


def password(directory, name):
    """The principal's password, made on first use."""
    path = directory / f"{name}.password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def wait_all(futures, what):
    for key, future in futures.items():
        try:
            future.result(timeout=TIMEOUT)
        except Exception as err:
            sys.exit(f"[dev] {what} {key}: {err}")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    brokers, directory = sys.argv[1], Path(sys.argv[2])
    regions = dict(arg.split("=", 1) for arg in sys.argv[3:])
    access = tomllib.loads(ACCESS.read_text())
    wanted = grants(access, regions)

    admin_password = password(directory, "admin")
    admin = AdminClient(
        {
            "bootstrap.servers": brokers,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "admin",
            "sasl.password": admin_password,
            "log_level": 4,
        }
    )

    users = {"admin": admin_password} | {name: password(directory, name) for name in wanted}
    upserts = [
        UserScramCredentialUpsertion(
            name,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            secret.encode(),
        )
        for name, secret in users.items()
    ]
    wait_all(admin.alter_user_scram_credentials(upserts, request_timeout=TIMEOUT), "setting the credential of")

    # What the brokers hold for the table's principals now.
    everything = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
        AclOperation.ANY, AclPermissionType.ANY,
    )
    held = {}
    for b in admin.describe_acls(everything, request_timeout=TIMEOUT).result(timeout=TIMEOUT):
        name = b.principal.removeprefix("User:")
        if name in wanted:
            held.setdefault(name, set()).add(
                (b.restype, b.name, b.resource_pattern_type, b.operation, b.permission_type, b.host)
            )

    allow = AclPermissionType.ALLOW
    create, delete = [], []
    for name, acls in wanted.items():
        want = {(t, n, p, op, allow, "*") for (t, n, p, op) in acls}
        have = held.get(name, set())
        create += [AclBinding(t, n, p, f"User:{name}", h, op, perm) for (t, n, p, op, perm, h) in want - have]
        delete += [AclBindingFilter(t, n, p, f"User:{name}", h, op, perm) for (t, n, p, op, perm, h) in have - want]
    if create:
        wait_all(admin.create_acls(create, request_timeout=TIMEOUT), "granting")
    if delete:
        wait_all(admin.delete_acls(delete, request_timeout=TIMEOUT), "revoking")
    print(
        f"[dev] broker principals: {len(wanted)} with {sum(len(a) for a in wanted.values())} ACLs"
        f" ({len(create)} granted, {len(delete)} revoked now)",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
