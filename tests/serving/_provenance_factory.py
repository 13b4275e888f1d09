"""Content credentials and AI marks for tests and benchmarks, made in memory, never downloaded.

c2pa-python's Builder signs with a certificate chain made here with ``cryptography`` (a root CA and
a claim-signing certificate with the key usage and EKU C2PA requires); XMP packets are written as
the IPTC and Adobe namespaces spell them. ``from _provenance_factory import make_chain, sign``.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@dataclass(frozen=True)
class Chain:
    chain_pem: bytes  # end entity first, then the CA
    key_pem: bytes
    ca_pem: str
    alg: c2pa.C2paSigningAlg


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakewatch tests"),
        ]
    )


def make_chain(alg: str = "es256") -> Chain:
    """A root CA and a claim-signing certificate: key usage digitalSignature, EKU emailProtection."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("fakewatch test root"))
        .issuer_name(_name("fakewatch test root"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    if alg == "ps256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signing_alg = c2pa.C2paSigningAlg.PS256
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        signing_alg = c2pa.C2paSigningAlg.ES256
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("fakewatch test signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Chain(
        chain_pem=leaf.public_bytes(pem) + ca.public_bytes(pem),
        key_pem=key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        ca_pem=ca.public_bytes(pem).decode(),
        alg=signing_alg,
    )


def manifest(generator: str, source_type: str | None, action: str = "c2pa.created", agent: str | None = None) -> dict:
    entry: dict = {"action": action}
    if source_type:
        entry["digitalSourceType"] = IPTC + source_type
    if agent:
        entry["softwareAgent"] = {"name": agent}
    return {
        "claim_generator_info": [{"name": generator, "version": "1.0"}],
        "title": "made by a test",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [entry]}}],
    }


def sign(
    data: bytes, mime: str, definition: dict, chain: Chain, *, remote_url: str | None = None
) -> tuple[bytes, bytes]:
    """(signed asset, manifest store bytes), signed by c2pa-python's Builder, no timestamp server."""
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(chain.alg, chain.chain_pem, chain.key_pem, None))
    context = c2pa.Context.from_dict(
        {"verify": {"verify_after_sign": False}, "builder": {"thumbnail": {"enabled": False}}}
    )
    builder = c2pa.Builder(definition, context=context)
    if remote_url:
        builder.set_no_embed()
        builder.set_remote_url(remote_url)
    out = io.BytesIO()
    store = builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue(), store


def xmp_packet(**properties: str) -> bytes:
    attributes = " ".join(f'{k}="{v}"' for k, v in properties.items())
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f"{attributes}/></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def edit_of(parent: bytes, mime: str, chain: Chain, edited: dict) -> bytes:
    """A Photoshop-style edit: the parent is an ingredient, then ``edited`` is applied."""
    definition = {
        "claim_generator_info": [{"name": "Adobe Photoshop", "version": "26.0"}],
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}},
                        edited,
                    ]
                },
            }
        ],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(chain.alg, chain.chain_pem, chain.key_pem, None))
    context = c2pa.Context.from_dict(
        {"verify": {"verify_after_sign": False}, "builder": {"thumbnail": {"enabled": False}}}
    )
    builder = c2pa.Builder(definition, context=context)
    builder.add_ingredient({"title": "parent", "relationship": "parentOf", "label": "parent"}, mime, io.BytesIO(parent))
    out = io.BytesIO()
    builder.sign(signer, mime, io.BytesIO(parent), out)
    return out.getvalue()
