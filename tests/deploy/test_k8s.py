"""deploy/k8s: the KubeRay RayService (and the models volume) validated offline.

* the RayService against its schema (deploy/k8s/schema, written from KubeRay's v1 API reference;
  unknown fields are errors),
* every pod template and every other resource against the Kubernetes schemas of
  kubernetes-validate (strict: unknown fields are errors),
* serveConfigV2 against Ray Serve's own ``ServeDeploySchema`` and fakewatch's ``AppArgs``, and
  the application built from it,
* and against the rest of the project: the Ray version of the lock, the image targets of the
  Dockerfile, the model volume where the settings point, CPU and GPU worker groups with bounds.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from fakewatch.settings import SERVICE_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMA = json.loads((K8S / "schema" / "rayservice.ray.io-v1.schema.json").read_text())
K8S_VERSION = "1.33.0"  # the oldest Kubernetes this manifest is meant for


def _docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return docs


def _rayservice() -> dict[str, Any]:
    (service,) = [d for d in _docs() if d.get("kind") == "RayService"]
    return service


def _templates(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cluster = service["spec"]["rayClusterConfig"]
    out = {"head": cluster["headGroupSpec"]["template"]}
    out |= {g["groupName"]: g["template"] for g in cluster["workerGroupSpecs"]}
    return out


def _validate_pod_template(template: dict[str, Any]) -> None:
    resource = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": template}
    kubernetes_validate.validate(resource, K8S_VERSION, strict=True)


def test_rayservice_matches_its_schema() -> None:
    jsonschema.validate(_rayservice(), SCHEMA)


def test_schema_rejects_a_typo() -> None:
    broken = copy.deepcopy(_rayservice())
    broken["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["maxReplica"] = 3
    with pytest.raises(jsonschema.ValidationError, match="maxReplica"):
        jsonschema.validate(broken, SCHEMA)


def test_pod_templates_and_resources_match_the_kubernetes_schemas() -> None:
    for template in _templates(_rayservice()).values():
        _validate_pod_template(template)
    others = [d for d in _docs() if d.get("kind") not in {"RayService", "Kustomization"}]
    assert {d["kind"] for d in others} == {"PersistentVolumeClaim"}
    for doc in others:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kubernetes_schemas_reject_a_bad_pod_template() -> None:
    template = copy.deepcopy(_templates(_rayservice())["cpu"])
    template["spec"]["containers"][0]["volumeMount"] = []  # not a field
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate_pod_template(template)


def test_serve_config_is_valid_for_ray_serve_and_for_the_app() -> None:
    from ray.serve.schema import ServeDeploySchema

    from serving.app import build_app
    from serving.app.args import AppArgs

    config = yaml.safe_load(_rayservice()["spec"]["serveConfigV2"])
    deploy = ServeDeploySchema.model_validate(config)
    (app,) = deploy.applications
    assert app.import_path == "serving.app:build_app" and app.route_prefix == "/"
    args = AppArgs.model_validate(app.args)
    assert set(args.settings) <= SERVICE_SETTINGS["serving"], "serveConfigV2 sets settings serving never reads"
    for part in (args.prep, args.image, args.video):
        assert part.num_replicas == "auto" and 1 <= part.min_replicas <= part.max_replicas
    assert build_app(args) is not None


def test_cluster_fits_the_images_the_models_and_the_lock() -> None:
    service = _rayservice()
    cluster = service["spec"]["rayClusterConfig"]
    lock = (ROOT / "requirements" / "serve.txt").read_text()
    assert cluster["rayVersion"] == re.search(r"^ray==(\S+)", lock, re.M).group(1)
    assert cluster["enableInTreeAutoscaling"] is True
    targets = set(re.findall(r"^FROM \S+ AS (\S+)$", (ROOT / "Dockerfile").read_text(), re.M))
    settings = yaml.safe_load(service["spec"]["serveConfigV2"])["applications"][0]["args"]["settings"]
    model_dirs = {settings["image_model"], settings["video_model"]}
    groups = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for name, template in _templates(service).items():
        (container,) = template["spec"]["containers"]
        assert container["image"].split(":")[0].removeprefix("fakewatch-") in targets, container["image"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert all(any(d.startswith(p + "/") and m.get("readOnly") for p, m in mounts.items()) for d in model_dirs)
        env = {e["name"]: e["value"] for e in container["env"]}
        assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "1", name  # a cluster needs it in its own env
        assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    for name, group in groups.items():
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"], name
    gpu = groups["gpu"]["template"]["spec"]["containers"][0]
    assert gpu["image"].startswith("fakewatch-serving-cuda") and gpu["resources"]["limits"]["nvidia.com/gpu"]
    assert groups["gpu"]["rayStartParams"]["num-gpus"] == "1"
    assert "nvidia.com/gpu" not in json.dumps(groups["cpu"])
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )
