"""``fakewatch scan --json`` on files that carry content credentials (issue 15's acceptance).

The files are signed here with c2pa-python's Builder and a certificate chain made in the test.
"""

from __future__ import annotations

import io
import json

import numpy as np
from _media_factory import gradient
from _provenance_factory import make_chain, manifest, sign
from PIL import Image
from test_cli import env, fakewatch  # noqa: F401  (the module's tiny-checkpoint CLI environment)


def _png(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="PNG")
    return out.getvalue()


def _scan(env: dict[str, str], *paths: str) -> list[dict]:  # noqa: F811
    proc = fakewatch(env, "scan", "--json", *paths)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.strip().splitlines()]


def test_generator_credentials_make_a_faceless_png_fake(env, tmp_path):  # noqa: F811
    chain = make_chain()
    scene = _png(gradient(320, 240))  # a landscape-like picture: no face to judge
    signed, _ = sign(scene, "image/png", manifest("DALL·E", "trainedAlgorithmicMedia", agent="DALL·E 3"), chain)
    unsigned_path, signed_path = tmp_path / "scene.png", tmp_path / "scene-signed.png"
    unsigned_path.write_bytes(scene)
    signed_path.write_bytes(signed)
    plain, marked = _scan(env, str(unsigned_path), str(signed_path))
    assert plain["verdict"] == "no_face" and plain["provenance"]["found"] is False
    assert marked["verdict"] == "fake" and marked["reason"] == "provenance" and marked["faces"] == []
    prov = marked["provenance"]
    assert prov["found"] is True and prov["ai_generated"] is True and prov["source"] == "c2pa"
    assert "DALL" in (prov["generator"] or "") and prov["signed"] is True


def test_camera_credentials_are_reported_but_change_no_verdict(env, shared_data, tmp_path):  # noqa: F811
    chain = make_chain()
    face = sorted((shared_data / "faces" / "stylegan" / "real").glob("*.jpg"))[0].read_bytes()
    signed, _ = sign(face, "image/jpeg", manifest("Camera Co. firmware", "digitalCapture"), chain)
    plain_path, signed_path = tmp_path / "face.jpg", tmp_path / "face-signed.jpg"
    plain_path.write_bytes(face)
    signed_path.write_bytes(signed)
    plain, marked = _scan(env, str(plain_path), str(signed_path))
    assert marked["provenance"]["found"] is True and marked["provenance"]["ai_generated"] is False
    assert plain["provenance"]["found"] is False
    assert marked["verdict"] == plain["verdict"] and marked["reason"] == plain["reason"]
    assert marked["verdict"] in {"real", "uncertain", "fake"} and marked["reason"] == "face_model"
