"""ro-crate-metadata.json (RO-Crate 1.1) through ro-crate-py, without letting it copy anything.

ro-crate-py copies every file it is given, and every unlisted file of a source folder, when
it writes a crate. So the crate is built in memory over no folder, files are added by
their path in the bag only, and studykit writes the generated JSON itself. Each file
carries its ``license`` and ``conditionsOfAccess`` (schema.org: natural language); held-back
resources are contextual entities that say what exists and how to apply, with no file.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from rocrate.model.contextentity import ContextEntity
from rocrate.model.person import Person
from rocrate.rocrate import ROCrate

from studykit.deposit import labelled, tiers
from studykit.deposit.citation import SPDX, creators

if TYPE_CHECKING:
    from studykit.deposit.staging import Plan

METADATA_LICENCE = "https://spdx.org/licenses/CC0-1.0.html"
FORMATS = {
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".json": "application/json",
    ".cff": "text/yaml",
    **labelled.MEDIA_TYPES,
}


def _format(path: str) -> str:
    suffix = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
    return FORMATS.get(suffix, "text/plain")


def crate_metadata(plan: Plan, files: dict[str, bytes]) -> dict[str, Any]:
    """The RO-Crate 1.1 JSON-LD for the payload ``files`` (paths inside the bag's data/)."""
    study = plan.study
    crate = ROCrate(version="1.1", gen_preview=False)
    licence_id = SPDX.format(study.licences.data)
    crate.add(ContextEntity(crate, licence_id, {"@type": "CreativeWork", "name": study.licences.data}))
    crate.add(ContextEntity(crate, METADATA_LICENCE, {"@type": "CreativeWork", "name": "CC0-1.0"}))
    crate.metadata["license"] = {"@id": METADATA_LICENCE}
    people = []
    for n, creator in enumerate(creators(plan), start=1):
        ident = f"https://orcid.org/{creator['orcid']}" if creator.get("orcid") else f"#creator-{n}"
        props = {"name": creator["name"]}
        if creator.get("affiliation"):
            props["affiliation"] = creator["affiliation"]
        people.append(crate.add(Person(crate, ident, props)))
    root = crate.root_dataset
    root["name"] = study.title
    root["description"] = study.description or study.title
    root["datePublished"] = plan.released.isoformat()
    root["version"] = study.version
    root["license"] = {"@id": licence_id}
    root["creator"] = [{"@id": p.id} for p in people]
    root["conditionsOfAccess"] = (
        f"Deposit tier {plan.tier} ({plan.target.name}: {plan.target.tiers[plan.tier]}). "
        + " ".join(sorted({f"{i.access.tier}: {i.access.conditions}" for i in plan.shipped}))
    ).strip()
    root["accessRights"] = tiers.DCAT[plan.tier]
    if study.archive.keywords:
        root["keywords"] = list(study.archive.keywords)
    access = {item.path: item.access for item in plan.shipped}
    # A labelled file has the access of the table it is made from.
    access |= {path: item.access for path, item in labelled.sources(plan).items()}
    for path, content in files.items():
        if path == "ro-crate-metadata.json":
            continue
        item_access = access.get(path)
        props: dict[str, Any] = {
            "name": path.rsplit("/", 1)[-1],
            "encodingFormat": _format(path),
            "contentSize": str(len(content)),
            "sha256": hashlib.sha256(content).hexdigest(),
            "license": {"@id": licence_id},
            "conditionsOfAccess": item_access.conditions if item_access else f"As the deposit ({plan.tier}).",
        }
        if item_access is not None and item_access.embargo_until is not None:
            props["embargoEndDate"] = item_access.embargo_until.isoformat()
        crate.add_file(dest_path=path, properties=props)
    for item in plan.described:
        entity = crate.add(ContextEntity(crate, f"#withheld-{item.name}", {
            "@type": "CreativeWork", "name": item.title or item.name,
            "description": f"Not included in this deposit ({item.reason}). To apply: {study.contact_email}.",
            "conditionsOfAccess": item.access.conditions,
            "accessRights": tiers.DCAT.get(item.access.tier, ""),
        }))  # fmt: skip
        root.append_to("mentions", entity)
    return crate.metadata.generate()
