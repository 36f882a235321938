#!/usr/bin/env python3
"""Checks deploy/k8s against the code's contract and settings (needs only Python 3 and PyYAML).

    python3 deploy/k8s/check.py

- every file or directory a kustomization.yaml names exists;
- the KafkaTopics are the topics of contracts/topics.json (partitions, retention), one dead-letter
  topic per consumer group, replicated as production.yaml expects;
- each KafkaUser's ACLs are exactly what contracts/asyncapi.yaml says the service sends and
  receives, plus its consumer group and dead-letter topic (and IdempotentWrite);
- each Deployment passes its KafkaUser's name and password Secret, mounts the cluster CA where
  production.yaml's kafka.ca_file points, listens on base.yaml's http.port, probes /healthz and
  /readyz, and gives SIGTERM handling (consumer.shutdown_grace_ms + producer flush) time to end;
- a Deployment whose production.yaml calls task-api with client credentials sets the token
  endpoint and the client secret from the cluster;
- the sample Kafka cluster matches production.yaml's bootstrap address and the strimzi.io/cluster
  labels;
- the KEDA ScaledObjects (components/keda) scale each consumer on exactly its group (the service's
  consumer.group_id) and the topics it reads, no further than their partitions, through the
  TriggerAuthentication whose KafkaUser may only Describe those groups and topics.

Rendering and schema validation are tests/deploy/run.sh's (docs/deployment.md, "Checking the
manifests"). Exit status 1 on any problem.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = ["task-api", "notification", "recurring-task", "audit"]
# Seconds the service may spend after the consumer stopped: Service::serve flushes the producer
# for at most 5 s before exiting (crates/service-runtime/src/service.rs).
PRODUCER_FLUSH_S = 5

problems: list[str] = []


def problem(message: str) -> None:
    problems.append(message)


def load_all(path: Path) -> list[dict]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d]


def load(path: Path) -> dict:
    docs = load_all(path)
    return docs[0] if docs else {}


def check_kustomizations() -> dict[str, list[dict]]:
    """Every referenced path exists; returns the resources of each kustomization, by directory."""
    rendered: dict[str, list[dict]] = {}
    for kfile in sorted(K8S.rglob("kustomization.yaml")):
        k = load(kfile)
        docs: list[dict] = []
        refs = list(k.get("resources", [])) + list(k.get("components", []))
        refs += [p["path"] for p in k.get("patches", []) if "path" in p]
        for ref in refs:
            target = (kfile.parent / ref).resolve()
            if not target.exists():
                problem(f"{kfile.relative_to(ROOT)}: {ref} does not exist")
            elif target.is_file():
                docs += load_all(target)
        rendered[str(kfile.parent.relative_to(K8S))] = docs
    return rendered


def service_settings(service: str) -> dict:
    """base.yaml overlaid with production.yaml (one level of nesting is enough here)."""
    merged: dict = {}
    for name in ("base.yaml", "production.yaml"):
        path = ROOT / "crates" / service / "config" / name
        for section, values in (load(path) if path.exists() else {}).items():
            merged.setdefault(section, {}).update(values or {})
    return merged


def default_setting(name: str) -> int:
    text = (ROOT / "crates" / "service-runtime" / "src" / "settings.rs").read_text()
    match = re.search(rf"\b{name}: ([0-9_]+),", text)
    if not match:
        raise SystemExit(f"cannot find the default of {name} in settings.rs")
    return int(match.group(1).replace("_", ""))


def contract_acls() -> dict[str, set[tuple[str, str, str]]]:
    """(resource type, name, operation) each service needs, from the AsyncAPI operations."""
    asyncapi = load(ROOT / "contracts" / "asyncapi.yaml")
    catalogue = load(ROOT / "contracts" / "topics.json")
    needed: dict[str, set[tuple[str, str, str]]] = {s: {("cluster", "", "IdempotentWrite")} for s in SERVICES}
    for op_name, op in asyncapi["operations"].items():
        service = op["tags"][0]["$ref"].rsplit("/", 1)[-1]
        channel = asyncapi["channels"][op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        operation = {"send": "Write", "receive": "Read"}[op["action"]]
        needed[service] |= {("topic", channel, operation), ("topic", channel, "Describe")}
    for group in catalogue["consumer_groups"]:
        needed[group["service"]] |= {("group", group["group_id"], "Read"), ("group", group["group_id"], "Describe")}
    return needed


def check_keda(rendered: dict[str, list[dict]], cluster_name: str) -> None:
    """The ScaledObjects against the catalogue's consumer groups and the services' settings."""
    docs = rendered.get("components/keda", [])
    catalogue = load(ROOT / "contracts" / "topics.json")
    partitions = {t["name"]: t["partitions"] for t in catalogue["topics"]}
    scaled = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    auths = {d["metadata"]["name"]: d for d in docs if d["kind"] == "TriggerAuthentication"}
    groups = catalogue["consumer_groups"]
    if set(scaled) != {g["service"] for g in groups}:
        problem(f"ScaledObjects {sorted(scaled)} differ from the consumers {sorted(g['service'] for g in groups)}")
    needed_acls: set[tuple[str, str, str]] = set()
    for group in groups:
        service, group_id, topics = group["service"], group["group_id"], set(group["topics"])
        needed_acls |= {("group", group_id, "Describe")} | {("topic", t, "Describe") for t in topics}
        settings_group = service_settings(service).get("consumer", {}).get("group_id")
        if settings_group != group_id:
            problem(f"{service}: consumer.group_id {settings_group}, catalogue {group_id}")
        obj = scaled.get(service)
        if not obj:
            continue
        spec = obj["spec"]
        if spec.get("scaleTargetRef", {}).get("name") != service or spec["scaleTargetRef"].get("kind", "Deployment") != "Deployment":
            problem(f"ScaledObject {service}: must target the Deployment {service}")
        triggers = spec.get("triggers", [])
        pairs = {(t.get("metadata", {}).get("consumerGroup"), t.get("metadata", {}).get("topic")) for t in triggers}
        if pairs != {(group_id, t) for t in topics} or len(triggers) != len(topics):
            problem(f"ScaledObject {service}: triggers on {sorted(pairs)}, expected group {group_id} on {sorted(topics)}")
        most = max(partitions[t] for t in topics)
        if not 1 <= spec.get("minReplicaCount", 0) <= spec.get("maxReplicaCount", 100) <= most:
            problem(f"ScaledObject {service}: need 1 <= minReplicaCount <= maxReplicaCount <= {most} partitions")
        bootstrap = service_settings(service).get("kafka", {}).get("bootstrap_servers")
        for t in triggers:
            meta = t.get("metadata", {})
            if t.get("type") != "kafka" or meta.get("bootstrapServers") != bootstrap:
                problem(f"ScaledObject {service}: kafka trigger on {bootstrap} (production.yaml) expected")
            if (meta.get("sasl"), meta.get("tls")) != ("scram_sha512", "enable"):
                problem(f"ScaledObject {service}: trigger must use sasl scram_sha512 and tls enable")
            if int(meta.get("lagThreshold", 0)) < 1:
                problem(f"ScaledObject {service}: lagThreshold must be set")
            if t.get("authenticationRef", {}).get("name") not in auths:
                problem(f"ScaledObject {service}: authenticationRef names no TriggerAuthentication here")
    for name, auth in auths.items():
        refs = {r["parameter"]: (r["name"], r["key"]) for r in auth["spec"].get("secretTargetRef", [])}
        if refs.get("ca") != (f"{cluster_name}-cluster-ca-cert", "ca.crt"):
            problem(f"TriggerAuthentication {name}: ca must come from {cluster_name}-cluster-ca-cert/ca.crt")
        user = refs.get("password", ("", ""))[0]
        kafka_user = next((d for d in docs if d["kind"] == "KafkaUser" and d["metadata"]["name"] == user), None)
        if not kafka_user or refs["password"][1] != "password":
            problem(f"TriggerAuthentication {name}: password must be the Secret of a KafkaUser in components/keda")
            continue
        granted = set()
        for acl in kafka_user["spec"].get("authorization", {}).get("acls", []):
            resource = acl["resource"]
            granted |= {(resource["type"], resource.get("name", ""), op) for op in acl["operations"]}
        if granted != needed_acls:
            problem(f"KafkaUser {user}: ACLs {sorted(granted - needed_acls)} not needed, {sorted(needed_acls - granted)} missing")


def main() -> int:
    rendered = check_kustomizations()
    base = rendered.get("base", [])
    by_kind: dict[str, dict[str, dict]] = {}
    for doc in base:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    catalogue = load(ROOT / "contracts" / "topics.json")
    cluster_docs = rendered.get("kafka-cluster", [])
    kafka = next((d for d in cluster_docs if d["kind"] == "Kafka"), None)
    cluster_name = kafka["metadata"]["name"] if kafka else "taskstream"

    # Topics.
    expected = {t["name"]: (t["partitions"], t["retention_ms"]) for t in catalogue["topics"]}
    expected |= {t["name"]: (t["partitions"], t["retention_ms"]) for t in catalogue["dead_letter_topics"]}
    topics = by_kind.get("KafkaTopic", {})
    if set(topics) != set(expected):
        problem(f"KafkaTopics {sorted(topics)} differ from the catalogue's {sorted(expected)}")
    for name, (partitions, retention) in expected.items():
        topic = topics.get(name)
        if not topic:
            continue
        spec = topic["spec"]
        replication = max(service_settings(s).get("topics", {}).get("replication_factor", 1) for s in SERVICES)
        if spec.get("partitions") != partitions:
            problem(f"KafkaTopic {name}: partitions {spec.get('partitions')}, catalogue {partitions}")
        if int(spec.get("config", {}).get("retention.ms", -1)) != retention:
            problem(f"KafkaTopic {name}: retention.ms {spec.get('config', {}).get('retention.ms')}, catalogue {retention}")
        if spec.get("replicas") != replication:
            problem(f"KafkaTopic {name}: replicas {spec.get('replicas')}, production.yaml {replication}")
        if int(spec.get("config", {}).get("min.insync.replicas", 1)) >= spec.get("replicas", 1):
            problem(f"KafkaTopic {name}: min.insync.replicas must stay below replicas")
        if topic["metadata"].get("labels", {}).get("strimzi.io/cluster") != cluster_name:
            problem(f"KafkaTopic {name}: label strimzi.io/cluster is not {cluster_name}")

    # Users and their ACLs.
    needed = contract_acls()
    users = by_kind.get("KafkaUser", {})
    for service in SERVICES:
        user = users.get(service)
        if not user:
            problem(f"no KafkaUser {service}")
            continue
        if user["metadata"].get("labels", {}).get("strimzi.io/cluster") != cluster_name:
            problem(f"KafkaUser {service}: label strimzi.io/cluster is not {cluster_name}")
        if user["spec"].get("authentication", {}).get("type") != "scram-sha-512":
            problem(f"KafkaUser {service}: authentication is not scram-sha-512")
        granted = set()
        for acl in user["spec"].get("authorization", {}).get("acls", []):
            if acl.get("type", "allow") != "allow" or acl.get("resource", {}).get("patternType", "literal") != "literal":
                problem(f"KafkaUser {service}: only literal allow rules are expected")
            resource = acl["resource"]
            granted |= {(resource["type"], resource.get("name", ""), op) for op in acl["operations"]}
        if granted != needed[service]:
            missing, extra = needed[service] - granted, granted - needed[service]
            problem(f"KafkaUser {service}: missing {sorted(missing)}, not needed {sorted(extra)}")

    # Deployments.
    grace_ms = default_setting("shutdown_grace_ms")
    for service in SERVICES:
        deployment = by_kind.get("Deployment", {}).get(service)
        if not deployment:
            problem(f"no Deployment {service}")
            continue
        settings = service_settings(service)
        pod = deployment["spec"]["template"]["spec"]
        container = next(c for c in pod["containers"] if c["name"] == service)
        env = {e["name"]: e for e in container.get("env", [])}
        if env.get("APP__KAFKA__USERNAME", {}).get("value") != service:
            problem(f"Deployment {service}: APP__KAFKA__USERNAME is not the KafkaUser name {service}")
        ref = env.get("APP__KAFKA__PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef", {})
        if (ref.get("name"), ref.get("key")) != (service, "password"):
            problem(f"Deployment {service}: APP__KAFKA__PASSWORD is not Secret {service} key password")
        ca_file = Path(settings.get("kafka", {}).get("ca_file", ""))
        mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        ca_ok = False
        for name, mount in mounts.items():
            secret = volumes.get(name, {}).get("secret")
            if secret and Path(mount["mountPath"]) == ca_file.parent:
                items = {i["path"]: i["key"] for i in secret.get("items", [])}
                ca_ok = secret["secretName"] == f"{cluster_name}-cluster-ca-cert" and items.get(ca_file.name) == "ca.crt"
        if not ca_ok:
            problem(f"Deployment {service}: {cluster_name}-cluster-ca-cert/ca.crt is not mounted at {ca_file}")
        port = settings.get("http", {}).get("port", 8080)
        if [p["containerPort"] for p in container.get("ports", []) if p.get("name") == "http"] != [port]:
            problem(f"Deployment {service}: containerPort http is not http.port {port}")
        probes = {k: container.get(k, {}).get("httpGet", {}).get("path") for k in ("livenessProbe", "readinessProbe")}
        if probes != {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}:
            problem(f"Deployment {service}: probes {probes}")
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pre_stop_s = int(pre_stop[-1]) if pre_stop and pre_stop[-1].isdigit() else 0
        budget = pod.get("terminationGracePeriodSeconds", 30)
        needed_s = pre_stop_s + settings.get("consumer", {}).get("shutdown_grace_ms", grace_ms) / 1000 + PRODUCER_FLUSH_S
        if budget < needed_s:
            problem(f"Deployment {service}: terminationGracePeriodSeconds {budget} < {needed_s} needed")
        # A service calling task-api with client credentials (recurring-task) needs the endpoint and
        # its secret from the cluster: production.yaml must not carry either.
        token = (settings.get("task_api") or {}).get("token") or {}
        if token.get("source") == "client_credentials":
            prefix = "APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__"
            if "valueFrom" not in env.get(prefix + "TOKEN_URL", {}):
                problem(f"Deployment {service}: {prefix}TOKEN_URL is not set from a ConfigMap or Secret")
            if "secretKeyRef" not in env.get(prefix + "CLIENT_SECRET", {}).get("valueFrom", {}):
                problem(f"Deployment {service}: {prefix}CLIENT_SECRET is not set from a Secret")
        if by_kind.get("Service", {}).get(service) is None or by_kind.get("PodDisruptionBudget", {}).get(service) is None:
            problem(f"{service}: a Service and a PodDisruptionBudget are expected")

    # The sample cluster against production.yaml.
    if kafka:
        namespace = kafka["metadata"].get("namespace") or load(K8S / "kafka-cluster" / "kustomization.yaml").get("namespace")
        for listener in kafka["spec"]["kafka"]["listeners"]:
            address = f"{cluster_name}-kafka-bootstrap.{namespace}.svc:{listener['port']}"
            for service in SERVICES:
                bootstrap = service_settings(service).get("kafka", {}).get("bootstrap_servers")
                if bootstrap != address:
                    problem(f"{service}: production.yaml bootstrap {bootstrap}, sample cluster {address}")
            if listener.get("authentication", {}).get("type") != "scram-sha-512" or not listener.get("tls"):
                problem(f"Kafka listener {listener['name']}: TLS with scram-sha-512 expected")

    check_keda(rendered, cluster_name)

    for p in problems:
        print(f"FAIL {p}")
    print(f"deploy/k8s: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
