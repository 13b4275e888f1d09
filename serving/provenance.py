"""What a file says about its own origin: content credentials and AI-generation marks.

``read_provenance(data)`` runs on the ORIGINAL uploaded bytes, before anything re-encodes them
(re-encoding strips every mark below), and returns ``serving.contract.Provenance``. It looks at:

* **C2PA manifests** (content credentials) through ``c2pa-python``: claim generator, actions,
  IPTC digital source type, signer, and the library's validation state against the C2PA trust
  list shipped in ``serving/c2pa_trust_anchors.pem``. The library never touches the network
  here: remote manifests, OCSP and every other fetch are switched off (``C2PA_SETTINGS``).
* **IPTC/XMP** ``DigitalSourceType`` and generator names in XMP ``CreatorTool`` / EXIF
  ``Software``; the XMP packet comes from Pillow, or from a bounded byte scan for video.
* **PNG text chunks** that image-generation front-ends write (A1111/Forge/Fooocus ``parameters``,
  ComfyUI ``prompt``/``workflow``, InvokeAI, NovelAI, SwarmUI…), read without decoding pixels.
* **The invisible DWT-DCT watermark** of the reference Stable Diffusion / SDXL / FLUX scripts
  (``invisible-watermark``), decoded here with numpy + OpenCV. It needs pixels, so it only runs
  where it can survive and is affordable: lossless PNG/WebP in the sizes generators produce,
  and only when nothing else was found.

Never raises on hostile input: a broken manifest is reported in ``details["c2pa"]["error"]``, a
damaged header in ``details["errors"]``. Light on purpose (Pillow, numpy, pydantic; c2pa and OpenCV only when
needed), so the intake stage can call it on every upload.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving.contract import Provenance, ProvenanceSource

# --- numbers and tables only this module uses ------------------------------------------------

#: The C2PA conformance trust list (claim-signing roots and issuing CAs), shipped with the code.
TRUST_ANCHORS_PATH = Path(__file__).resolve().parent / "c2pa_trust_anchors.pem"

#: c2pa-rs settings: verify signatures and trust offline; never fetch anything.
C2PA_SETTINGS: dict[str, Any] = {
    "version": 1,
    "verify": {
        "verify_after_reading": True,
        "verify_trust": True,
        # Time-stamping authorities are not checked against a trust list (we ship none).
        "verify_timestamp_trust": False,
        "ocsp_fetch": False,
        "remote_manifest_fetch": False,
    },
    # An empty allow-list: even a code path we did not think of may not reach any host.
    "core": {"allowed_network_hosts": [], "max_decompressed_manifest_size_in_mb": 16},
}

#: Formats whose containers may carry an embedded C2PA manifest, by what the first bytes say.
C2PA_MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heif": "image/heif",
    "avif": "image/avif",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "gif": "image/gif",
    "tiff": "image/tiff",
}

#: IPTC digital source types (last path segment of the URI) that declare generative AI.
AI_SOURCE_TYPES = frozenset(
    {
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "algorithmicMedia",
        "compositeSynthetic",
        "trainedAlgorithmicData",  # c2pa.org's own namespace
    }
)
#: Digital source types that declare a capture of the real world.
CAPTURE_SOURCE_TYPES = frozenset(
    {"digitalCapture", "computationalCapture", "negativeFilm", "positiveFilm", "print", "compositeCapture"}
)

#: Known generator names, matched case-insensitively in tool names (first match wins).
GENERATORS: tuple[tuple[str, str], ...] = (
    (r"midjourney", "Midjourney"),
    (r"dall[\s·.\-_]*e", "OpenAI DALL·E"),
    (r"chatgpt|gpt[\s\-]?4o|gpt[\s\-]?image|\bopenai\b", "OpenAI ChatGPT"),
    (r"\bsora\b", "OpenAI Sora"),
    (r"firefly", "Adobe Firefly"),
    (r"comfy\s*ui", "ComfyUI"),
    (r"automatic1111|\ba1111\b|stable[\s\-_]diffusion[\s\-_]web\s*ui|\bforge\b", "Stable Diffusion WebUI"),
    (r"invoke\s*ai", "InvokeAI"),
    (r"fooocus", "Fooocus"),
    (r"swarm\s*ui", "SwarmUI"),
    (r"novel\s*ai", "NovelAI"),
    (r"draw\s*things", "Draw Things"),
    (r"stable[\s\-_]*diffusion|\bsdxl\b|stability\s*ai|dreamstudio", "Stable Diffusion"),
    (r"google\s*imagen|\bimagen[\s\-]?\d|^\s*imagen\s*$", "Google Imagen"),
    (r"\bgemini\b|google\s*ai\b|nano\s*banana", "Google Gemini"),
    (r"bing\s*image\s*creator|image\s*creator\s*from\s*microsoft", "Bing Image Creator"),
    (r"microsoft\s*designer|\bdesigner\b.*microsoft", "Microsoft Designer"),
    (r"\bflux(\.\d)?\b|black\s*forest\s*labs", "FLUX (Black Forest Labs)"),
    (r"ideogram", "Ideogram"),
    (r"leonardo\.?\s*ai|\bleonardo\b", "Leonardo.Ai"),
    (r"\brunway(ml)?\b", "Runway"),
    (r"playground\s*(ai|v\d)", "Playground"),
    (r"meta\s*ai|imagine\s*with\s*meta", "Meta AI"),
    (r"\bkling\b", "Kling"),
    (r"\bgrok\b|\baurora\b.*xai|\bxai\b", "xAI Grok"),
    (r"\bkrea\b", "Krea"),
    (r"\bpika\b", "Pika"),
)
_GENERATOR_RES = tuple((re.compile(pattern, re.IGNORECASE), name) for pattern, name in GENERATORS)


def _bits_of(data: bytes) -> tuple[int, ...]:
    return tuple(int(bit) for byte in data for bit in f"{byte:08b}")


def _bits_of_int(value: int) -> tuple[int, ...]:
    """The reference scripts' ``[int(b) for b in bin(value)[2:]]`` (leading zeros dropped)."""
    return tuple(int(bit) for bit in bin(value)[2:])


#: Invisible watermarks of the reference scripts (imwatermark ``dwtDct``, U channel, scale 36):
#: name, payload bits, most bit errors still called a match (random bits come that close with
#: p < 1e-7; natural photos stay far away: benchmarks/bench_provenance.py measures it).
#: Sources: CompVis stable-diffusion and Stability-AI stablediffusion ``scripts/txt2img.py``
#: ("StableDiffusionV1", "SDV2" as bytes), Stability-AI generative-models
#: ``sgm/inference/helpers.py`` and diffusers' ``StableDiffusionXLWatermarker`` (0xB3EC907BB19E),
#: black-forest-labs/flux ``src/flux/util.py`` (0b0010…1110 through ``bin()[2:]``, which drops
#: the two leading zeros: 46 bits).
WATERMARKS: tuple[tuple[str, tuple[int, ...], int], ...] = (
    ("Stable Diffusion 1.x", _bits_of(b"StableDiffusionV1"), 30),
    ("Stable Diffusion 2.x", _bits_of(b"SDV2"), 2),
    ("Stable Diffusion XL", _bits_of_int(0b101100111110110010010000011110111011000110011110), 5),
    ("FLUX.1 (reference code)", _bits_of_int(0b001010101111111010000111100111001111010100101110), 5),
)
WATERMARK_SCALE = 36.0
#: The encoder refuses images under 256x256; generators rarely go over 2048x2048.
WATERMARK_MIN_PIXELS = 256 * 256
WATERMARK_MAX_PIXELS = 2048 * 2048
#: What the budget check assumes the pixel decode + bit read costs (generous for a busy core).
WATERMARK_S_PER_MEGAPIXEL = 0.25

#: Bounds on what is read and what is reported.
XMP_SCAN_BYTES = 4 * 1024 * 1024  # look for an XMP packet in the first and last 4 MB
XMP_MAX_BYTES = 512 * 1024  # a longer packet is cut here before parsing
TEXT_MAX_CHARS = 300  # prompts and tool names in details
LIST_MAX_ITEMS = 10
DEFAULT_BUDGET_S = 2.0

_XMP_START = b"<x:xmpmeta"
_XMP_END = b"</x:xmpmeta>"
_DST_RE = re.compile(r"(?:cv\.iptc\.org/newscodes|c2pa\.org)/digitalsourcetype/([A-Za-z]+)")
_TAG_RE = {
    "creator_tool": re.compile(r"xmp:CreatorTool\s*=\s*\"([^\"]{1,400})\"|<xmp:CreatorTool>([^<]{1,400})<"),
    "credit": re.compile(r"photoshop:Credit\s*=\s*\"([^\"]{1,400})\"|<photoshop:Credit>([^<]{1,400})<"),
    "provenance": re.compile(r"dcterms:provenance\s*=\s*\"([^\"]{1,400})\"|<dcterms:provenance>([^<]{1,400})<"),
}
_A1111_RE = re.compile(r"Steps: \d+.*Sampler: ", re.DOTALL)


# --- results of one reader --------------------------------------------------------------------


@dataclass
class _Finding:
    """One reader's conclusion; the strongest finding becomes the Provenance answer."""

    source: ProvenanceSource
    ai: bool | None
    generator: str | None = None
    signed: bool | None = None
    valid: bool | None = None
    trusted: bool | None = None


@dataclass
class _Reading:
    data: bytes
    family: str | None
    deadline: float
    context: Any = None  # a c2pa Context; None: the shared offline one
    size: tuple[int, int] | None = None  # pixels, when Pillow could read the header
    findings: list[_Finding] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def note(self, error: str) -> None:
        self.details.setdefault("errors", []).append(_short(error))

    def left_s(self) -> float:
        return self.deadline - time.perf_counter()


def read_provenance(
    data: bytes, *, budget_s: float = DEFAULT_BUDGET_S, watermark: bool = True, context: Any = None
) -> Provenance:
    """Read every credential and mark in ``data``; never raises, never fetches.

    ``budget_s`` bounds the optional work: the watermark check (the only pixel decode) is skipped
    when less time is left than it needs. The metadata readers are bounded by the input size.
    ``context`` is a c2pa ``Context`` from ``build_c2pa_context`` (default: the shared one with
    the shipped trust anchors).
    """
    started = time.perf_counter()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return Provenance(details={"errors": [_short(f"not bytes but {type(data).__name__}")]})
    blob = bytes(data)
    reading = _Reading(data=blob, family=_family(blob[:32]), deadline=started + budget_s, context=context)
    read: list[str] = []
    steps = [("c2pa", _read_c2pa), ("metadata", _read_metadata)]
    if watermark:
        steps.append(("watermark", _read_watermark))
    for name, step in steps:
        try:
            if step(reading):
                read.append(name)
        except MemoryError:
            reading.note(f"{name}: out of memory")
        except Exception as exc:
            reading.note(f"{name}: {type(exc).__name__}: {exc}")
    reading.details["read"] = read
    reading.details["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return _decide(reading)


def _decide(reading: _Reading) -> Provenance:
    """AI declarations win (strongest source first); then a declared capture; then anything."""
    order = {
        ProvenanceSource.C2PA: 0,
        ProvenanceSource.XMP: 1,
        ProvenanceSource.PNG_TEXT: 2,
        ProvenanceSource.WATERMARK: 3,
    }
    findings = sorted(reading.findings, key=lambda f: order[f.source])
    chosen = next((f for f in findings if f.ai is True), None)
    if chosen is None:
        chosen = next((f for f in findings if f.ai is False), None)
    if chosen is None and findings:
        chosen = findings[0]
    if chosen is None:
        return Provenance(found=False, details=reading.details)
    generator = chosen.generator or next((f.generator for f in findings if f.generator and f.ai), None)
    return Provenance(
        found=True,
        ai_generated=chosen.ai,
        generator=generator,
        source=chosen.source,
        signed=chosen.signed,
        signature_valid=chosen.valid,
        trusted=chosen.trusted,
        details=reading.details,
    )


# --- C2PA -------------------------------------------------------------------------------------

_context_lock = threading.Lock()
_context: tuple[int, Any] | None = None  # (pid, Context): a forked child builds its own


def c2pa_context() -> Any:
    """The shared offline c2pa ``Context`` (built once per process; reads may run in parallel)."""
    global _context
    with _context_lock:
        if _context is None or _context[0] != os.getpid():
            _context = (os.getpid(), build_c2pa_context())
        return _context[1]


def build_c2pa_context(extra_anchors_pem: str = "") -> Any:
    """An offline c2pa ``Context`` trusting the shipped anchors plus ``extra_anchors_pem``."""
    import c2pa

    settings = copy.deepcopy(C2PA_SETTINGS)
    settings["trust"] = {"verify_trust_list": True, "trust_anchors": trust_anchors_pem() + extra_anchors_pem}
    return c2pa.Context.from_dict(settings)


def trust_anchors_pem() -> str:
    """The shipped trust anchors, certificates only (the file's comment lines dropped)."""
    text = TRUST_ANCHORS_PATH.read_text(encoding="ascii")
    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.DOTALL)
    return "\n".join(blocks) + "\n"


def _read_c2pa(reading: _Reading) -> bool:
    mime = C2PA_MIME.get(reading.family or "")
    if mime is None:
        return False
    data = reading.data
    # Every embedded manifest store is a JUMBF box labelled "c2pa": no such bytes, no manifest,
    # and the native library is not even asked (most uploads).
    if b"jumb" not in data and b"c2pa" not in data:
        return True
    import c2pa

    try:
        reader = c2pa.Reader.try_create(mime, io.BytesIO(data), None, reading.context or c2pa_context())
    except Exception as exc:
        message = str(exc)
        if "remote" in message.lower():
            reading.details["c2pa"] = {"remote_manifest": "referenced, not fetched (offline)"}
            reading.findings.append(_Finding(ProvenanceSource.C2PA, None, signed=None, valid=None))
        else:
            reading.details["c2pa"] = {"error": _short(message)}
        return True
    if reader is None:
        return True
    try:
        store = json.loads(reader.json())
    finally:
        reader.close()
    _interpret_store(store, reading)
    return True


def _interpret_store(store: dict[str, Any], reading: _Reading) -> None:
    manifests = store.get("manifests") or {}
    active_label = store.get("active_manifest")
    active = manifests.get(active_label) if isinstance(manifests, dict) else None
    if not isinstance(active, dict):
        reading.details["c2pa"] = {"error": "manifest store without an active manifest"}
        return
    state = store.get("validation_state")
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = [str(s.get("code")) for s in results.get("failure") or [] if isinstance(s, dict)]
    if not results:  # older shape: a flat list of problems
        failures = [str(s.get("code")) for s in store.get("validation_status") or [] if isinstance(s, dict)]
    trusted = state == "Trusted" or any(
        isinstance(s, dict) and s.get("code") == "signingCredential.trusted" for s in results.get("success") or []
    )
    valid = state in ("Valid", "Trusted") and not any(
        code.startswith(("claimSignature.", "signingCredential.invalid", "signingCredential.revoked"))
        for code in failures
    )
    actions, sources, agents = _actions(active)
    claim_generator = _claim_generator(active)
    signature = active.get("signature_info") or {}
    details: dict[str, Any] = {
        "validation_state": state,
        "trusted": trusted,
        "claim_generator": claim_generator,
        "actions": actions[:LIST_MAX_ITEMS],
        "digital_source_types": sources[:LIST_MAX_ITEMS],
        "signer": {
            k: _short(str(signature[k]))
            for k in ("issuer", "common_name", "time", "alg")
            if signature.get(k) is not None
        },
        "manifests": len(manifests),
    }
    if failures:
        details["failures"] = failures[:LIST_MAX_ITEMS]
    if active.get("title"):
        details["title"] = _short(str(active["title"]))

    ai: bool | None = None
    generator: str | None = None
    ai_sources = [s for s in sources if s in AI_SOURCE_TYPES]
    if ai_sources:
        ai = True
        generator = _generator_name(*agents, claim_generator or "") or _first_text(*agents, claim_generator)
    else:
        # The content may come from an AI ingredient (a Firefly image edited in Photoshop).
        for label, manifest in manifests.items():
            if label == active_label or not isinstance(manifest, dict):
                continue
            _, ingredient_sources, ingredient_agents = _actions(manifest)
            if any(s in AI_SOURCE_TYPES for s in ingredient_sources):
                ai = True
                ingredient_generator = _claim_generator(manifest) or ""
                generator = _generator_name(*ingredient_agents, ingredient_generator) or _first_text(
                    *ingredient_agents, ingredient_generator
                )
                details["ai_ingredient"] = _short(str(label))
                break
    if ai is None:
        named = _generator_name(*agents, claim_generator or "")
        if any(s in CAPTURE_SOURCE_TYPES for s in sources):  # a declared capture wins over names
            ai = False
            generator = _first_text(*agents, claim_generator)
        elif named is not None:  # the credentials name a known generator without a source type
            ai, generator = True, named
    reading.details["c2pa"] = details
    reading.findings.append(
        _Finding(ProvenanceSource.C2PA, ai, generator or claim_generator, signed=True, valid=valid, trusted=trusted)
    )


def _actions(manifest: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """Action names, digital source types (short) and software agents of one manifest."""
    actions: list[str] = []
    sources: list[str] = []
    agents: list[str] = []
    for assertion in manifest.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        data = assertion.get("data") or {}
        for action in data.get("actions") or [] if isinstance(data, dict) else []:
            if not isinstance(action, dict):
                continue
            name = str(action.get("action", ""))
            if name and name not in actions:
                actions.append(name)
            dst = action.get("digitalSourceType")
            if isinstance(dst, str) and dst:
                short = dst.rstrip("/").rsplit("/", 1)[-1]
                if short not in sources:
                    sources.append(short)
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = agent.get("name")
            if isinstance(agent, str) and agent and agent not in agents:
                agents.append(agent)
    return actions, sources, agents


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("claim_generator_info")
    if isinstance(info, list) and info and isinstance(info[0], dict) and info[0].get("name"):
        name = str(info[0]["name"])
        version = info[0].get("version")
        return _short(f"{name} {version}" if version else name)
    if isinstance(manifest.get("claim_generator"), str):
        return _short(manifest["claim_generator"])
    return None


# --- XMP, EXIF and PNG text (Pillow header parse, no pixel decode) ---------------------------


def _read_metadata(reading: _Reading) -> bool:
    from PIL import Image, UnidentifiedImageError

    xmp: bytes | None = None
    text: dict[str, str] = {}
    exif_software = exif_comment = raw_exif = None
    image_size: tuple[int, int] | None = None
    if reading.family in ("jpeg", "png", "webp", "heif", "avif", "tiff", "gif"):
        _register_heif()
        try:
            # No warnings.catch_warnings() here: it swaps a process-global filter list and would
            # race with intake's own (which turns the decompression-bomb warning into an error).
            with Image.open(io.BytesIO(reading.data)) as image:
                image_size = image.size
                raw = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
                if isinstance(raw, str):
                    raw = raw.encode("utf-8", "replace")
                if isinstance(raw, bytes):
                    xmp = raw[:XMP_MAX_BYTES]
                if image.format == "PNG":
                    text = {str(k): v for k, v in image.info.items() if isinstance(v, str) and k != "XML:com.adobe.xmp"}
                raw_exif = image.info.get("exif")
            if isinstance(raw_exif, bytes) and raw_exif:
                # Parse the raw block ourselves: PngImageFile.getexif() decodes every pixel first.
                exif = Image.Exif()
                exif.load(raw_exif)
                exif_software = exif.get(0x0131)
                try:
                    exif_comment = exif.get_ifd(0x8769).get(0x9286)
                except Exception:
                    exif_comment = None
        except UnidentifiedImageError:
            reading.note("metadata: not an image Pillow can open")
        except Exception as exc:
            reading.note(f"metadata: {type(exc).__name__}: {exc}")
    if xmp is None:
        xmp = _scan_xmp(reading.data)
    reading.size = image_size
    if xmp:
        _interpret_xmp(xmp, reading)
    _interpret_exif(exif_software, exif_comment, reading)
    if text:
        _interpret_png_text(text, reading)
    return True


def _scan_xmp(data: bytes) -> bytes | None:
    """The first XMP packet in the first or last ``XMP_SCAN_BYTES`` (MP4/MOV, odd containers)."""
    windows = [(0, data[:XMP_SCAN_BYTES])]
    if len(data) > XMP_SCAN_BYTES:
        windows.append((len(data) - XMP_SCAN_BYTES, data[-XMP_SCAN_BYTES:]))
    for _, window in windows:
        start = window.find(_XMP_START)
        if start < 0:
            continue
        end = window.find(_XMP_END, start, start + XMP_MAX_BYTES)
        stop = end + len(_XMP_END) if end >= 0 else min(len(window), start + XMP_MAX_BYTES)
        return window[start:stop]
    return None


def _interpret_xmp(xmp: bytes, reading: _Reading) -> None:
    packet = xmp.decode("utf-8", "replace")
    sources: list[str] = []
    for match in _DST_RE.finditer(packet):
        if match.group(1) not in sources:
            sources.append(match.group(1))
    tags = {}
    for key, pattern in _TAG_RE.items():
        tag = pattern.search(packet)
        if tag:
            tags[key] = _short(_unescape(tag.group(1) or tag.group(2) or ""))
    details: dict[str, Any] = {}
    if sources:
        details["digital_source_types"] = sources[:LIST_MAX_ITEMS]
    details.update(tags)
    if not details:
        return
    reading.details["xmp"] = details
    tool = tags.get("creator_tool", "")
    named = _generator_name(tool, tags.get("credit", ""))
    if any(s in AI_SOURCE_TYPES for s in sources):
        reading.findings.append(_Finding(ProvenanceSource.XMP, True, named or tool or None, signed=False))
    elif named:
        reading.findings.append(_Finding(ProvenanceSource.XMP, True, named, signed=False))
    elif any(s in CAPTURE_SOURCE_TYPES for s in sources):
        reading.findings.append(_Finding(ProvenanceSource.XMP, False, tool or None, signed=False))
    elif "provenance" in tags and "c2pa" not in reading.details:
        # A pointer to a remote manifest, which we do not fetch.
        reading.details["c2pa"] = {"remote_manifest": "referenced, not fetched (offline)"}
        reading.findings.append(_Finding(ProvenanceSource.C2PA, None))


def _interpret_exif(software: Any, comment: Any, reading: _Reading) -> None:
    details: dict[str, Any] = {}
    software_text = _as_text(software)
    if software_text:
        details["software"] = _short(software_text)
    comment_text = _exif_comment(comment)
    if comment_text and _A1111_RE.search(comment_text):
        details["user_comment"] = _short(comment_text)
    if not details:
        return
    reading.details["exif"] = details
    named = _generator_name(software_text or "")
    if named is None and "user_comment" in details:
        named = "Stable Diffusion WebUI"
    if named:
        reading.findings.append(_Finding(ProvenanceSource.XMP, True, named, signed=False))


def _interpret_png_text(text: dict[str, str], reading: _Reading) -> None:
    keys = list(text)[: LIST_MAX_ITEMS * 2]
    tool: str | None = None
    prompt: str | None = None
    model: str | None = None
    parameters = text.get("parameters")
    if parameters is not None:
        if "sui_image_params" in parameters:
            tool = "SwarmUI"
        elif "fooocus" in parameters.lower():
            tool = "Fooocus"
        elif _A1111_RE.search(parameters):
            tool = "Stable Diffusion WebUI"
            prompt = parameters.split("\n", 1)[0]
            found = re.search(r"Model: ([^,\n]{1,100})", parameters)
            model = found.group(1) if found else None
    if tool is None and ("prompt" in text or "workflow" in text):
        body = text.get("prompt") or text.get("workflow") or ""
        if '"class_type"' in body or '"nodes"' in body:
            tool = "ComfyUI"
            prompt = _comfy_prompt(text.get("prompt", ""))
        elif "use_stable_diffusion_model" in text:
            tool, prompt = "Easy Diffusion", text.get("prompt")
    if tool is None and any(k in text for k in ("invokeai_metadata", "invokeai_graph", "sd-metadata", "Dream")):
        tool = "InvokeAI"
        prompt = text.get("Dream")
    if tool is None and (text.get("Software", "").strip().lower() == "novelai" or "NovelAI" in text.get("Source", "")):
        tool = "NovelAI"
        prompt = text.get("Description")
        model = text.get("Source")
    if tool is None:
        named = _generator_name(text.get("Software", ""), text.get("Source", ""))
        if named:
            tool = named
    if tool is None:
        if any(k.lower() in ("software", "comment", "description", "source") for k in text):
            reading.details["png_text"] = {"keys": keys}
        return
    details: dict[str, Any] = {"keys": keys, "tool": tool}
    if prompt:
        details["prompt"] = _short(prompt)
    if model:
        details["model"] = _short(model)
    reading.details["png_text"] = details
    reading.findings.append(_Finding(ProvenanceSource.PNG_TEXT, True, tool, signed=False))


def _comfy_prompt(body: str) -> str | None:
    """The first positive text prompt of a ComfyUI API graph, if it is easy to see."""
    try:
        graph = json.loads(body[:200_000]) if body else None
    except ValueError:
        return None
    if not isinstance(graph, dict):
        return None
    for node in graph.values():
        if isinstance(node, dict) and "CLIPTextEncode" in str(node.get("class_type", "")):
            value = (node.get("inputs") or {}).get("text")
            if isinstance(value, str) and value.strip():
                return value
    return None


# --- the reference scripts' invisible watermark --------------------------------------------


def _read_watermark(reading: _Reading) -> bool:
    """Decode imwatermark's dwtDct bits where they can be present; compare to known payloads."""
    size = reading.size
    if any(f.ai is not None for f in reading.findings):
        return False  # already decided; do not pay for pixels
    lossless = reading.family == "png" or (
        reading.family == "webp" and (reading.data[12:16] == b"VP8L" or b"VP8L" in reading.data[12:4096])
    )
    if not lossless or size is None:
        return False
    width, height = size
    if not WATERMARK_MIN_PIXELS <= width * height <= WATERMARK_MAX_PIXELS:
        reading.details["watermark"] = {"skipped": f"{width}x{height} is outside the sizes generators produce"}
        return False
    # Decoding the pixels dominates and grows with them (benchmarks/results/provenance-cpu2.json):
    # skip the check rather than overrun the budget.
    if reading.left_s() < WATERMARK_S_PER_MEGAPIXEL * width * height / 1e6:
        reading.details["watermark"] = {"skipped": "time budget spent"}
        return False
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(reading.data)) as image:
        rgb = np.asarray(image.convert("RGB"))
    block_bits = dwtdct_block_bits(rgb)
    best: tuple[int, str] | None = None
    for name, payload, max_errors in WATERMARKS:
        errors = _bit_errors(block_bits, payload)
        if errors <= max_errors and (best is None or errors < best[0]):
            best = (errors, name)
    if best is None:
        reading.details["watermark"] = {"checked": "dwtDct", "match": None}
        return True
    reading.details["watermark"] = {"checked": "dwtDct", "match": best[1], "bit_errors": best[0]}
    reading.findings.append(_Finding(ProvenanceSource.WATERMARK, True, best[1], signed=False))
    return True


def dwtdct_block_bits(rgb: Any) -> Any:
    """One bit per 4x4 block of the Haar approximation of the U channel, as imwatermark reads it.

    Same arithmetic as ``imwatermark.maxDct.EmbedMaxDct.decode`` (BGR->YUV with OpenCV, one-level
    Haar DWT of U, the largest non-DC coefficient of each block modulo the scale), vectorised:
    the library's Python loop takes seconds on a 1024x1024 image, this takes milliseconds.
    """
    import cv2
    import numpy as np

    rows, cols = rgb.shape[0] // 4 * 4, rgb.shape[1] // 4 * 4
    bgr = np.ascontiguousarray(rgb[:rows, :cols, ::-1])
    u = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)[:, :, 1].astype(np.float64)
    approx = 0.5 * (u[0::2, 0::2] + u[1::2, 0::2] + u[0::2, 1::2] + u[1::2, 1::2])
    brows, bcols = approx.shape[0] // 4, approx.shape[1] // 4
    blocks = approx[: brows * 4, : bcols * 4].reshape(brows, 4, bcols, 4).transpose(0, 2, 1, 3).reshape(-1, 16)
    position = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    value = np.abs(blocks[np.arange(blocks.shape[0]), position])
    return (np.mod(value, WATERMARK_SCALE) > 0.5 * WATERMARK_SCALE).astype(np.float64)


def _bit_errors(block_bits: Any, payload: tuple[int, ...]) -> int:
    """Hamming distance between the payload and the bits read (block i carries bit i mod n)."""
    import numpy as np

    n = len(payload)
    if block_bits.shape[0] < n:
        return n
    index = np.arange(block_bits.shape[0]) % n
    mean = np.bincount(index, weights=block_bits, minlength=n) / np.bincount(index, minlength=n)
    decoded = (mean * 255 > 127).astype(np.int64)
    return int(np.count_nonzero(decoded != np.asarray(payload)))


# --- small helpers ------------------------------------------------------------------------------


def _family(head: bytes) -> str | None:
    """The container the first bytes claim (c2pa and Pillow decide the rest)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"):
            return "heif"
        return "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"free", b"wide", b"skip"):
        return "mov"
    return None


_heif_registered = False


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        _heif_registered = True
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
        except ImportError:  # pragma: no cover - optional dependency
            pass


def _generator_name(*texts: str | None) -> str | None:
    for text in texts:
        if not text:
            continue
        for pattern, name in _GENERATOR_RES:
            if pattern.search(text):
                return name
    return None


def _first_text(*texts: str | None) -> str | None:
    return next((_short(t) for t in texts if t), None)


def _as_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.strip("\x00 \t\r\n")
        return value or None
    return None


def _exif_comment(value: Any) -> str | None:
    """EXIF UserComment: an 8-byte charset header, then the text (A1111 writes UTF-16)."""
    if isinstance(value, str):
        return value.strip("\x00 ") or None
    if not isinstance(value, bytes) or len(value) < 8:
        return None
    head, body = value[:8], value[8:]
    if head.startswith(b"UNICODE"):
        for encoding in ("utf-16-be", "utf-16-le"):
            text = body.decode(encoding, "replace")
            if "Steps" in text or text.isprintable():
                return text.strip("\x00 ") or None
    return body.decode("utf-8", "replace").strip("\x00 ") or None


def _unescape(text: str) -> str:
    return (
        text.replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


def _short(text: str) -> str:
    """At most ``TEXT_MAX_CHARS`` printable characters (no control bytes in details)."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text[: TEXT_MAX_CHARS * 2]).strip()
    return cleaned if len(cleaned) <= TEXT_MAX_CHARS else cleaned[: TEXT_MAX_CHARS - 1] + "…"


__all__ = [
    "AI_SOURCE_TYPES",
    "C2PA_SETTINGS",
    "CAPTURE_SOURCE_TYPES",
    "GENERATORS",
    "TRUST_ANCHORS_PATH",
    "WATERMARKS",
    "build_c2pa_context",
    "c2pa_context",
    "dwtdct_block_bits",
    "read_provenance",
    "trust_anchors_pem",
]
