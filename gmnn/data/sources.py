"""The public data sets used in the paper: where they come from, and how to find their files.

Four parts:

1. **The registry** (:data:`RMD17`, :data:`MD17_CCSD`, :data:`ANI1X`, :data:`COMP6`,
   :data:`ALA10`): the one place where every download URL, mirror and checksum is
   written. Where a checksum is published anywhere we could check, the entry pins it;
   otherwise it says ``None``, and the pipeline records the sha256 it sees on first
   download in the provenance file next to the data
   (``data/raw/<source>/download/<file>.provenance.json``) so that it can be pinned
   afterwards. Never put a checksum here that was not read from a primary or independent
   public source or measured on a byte-identical copy; say where it came from in ``origin``.

2. **Resolution** (:class:`Overrides`, :class:`Sources`, :class:`FetchPlan`,
   :class:`StagePlan`): the pipeline's ``sources:`` section holds only what a user
   overrides (:class:`FileOverride`: ``local``, extra ``mirrors``, ``sha256``/``md5`` pins,
   ``url``), checked by :meth:`Overrides.from_config` (a misspelt source, molecule or key is
   an error naming it). :class:`Sources` applies the overrides to the registry and says, for
   a source and an item (a molecule, a COMP6 subset), which remote files are needed, where
   each is downloaded to, whether a ``local:`` path replaces the download (a copy of the
   remote file itself, verified against its checksum) or is a tree to search, which archive
   members to extract and which finder (:func:`find_files`) locates the files. It knows
   nothing about Snakemake: the input functions of ``rules/data.smk`` call it in one line.

3. **Finding files** in the layouts data sets come in: the official archives as extracted,
   the per-split rMD17 files, a single sGDML training file, flat directories of COMP6
   files, a deca-alanine PDB file (:func:`ala10_file`); and **loading** them
   (:func:`load_rmd17`, :func:`load_sgdml`, :func:`load_comp6`, :func:`load_ani1x`).

4. **Splits** that respect an official test set (:func:`md17_split`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gmnn.data.ani import DEFAULT_CHUNK_CONFORMERS, ConversionSummary, convert_ani_h5, scan_ani
from gmnn.data.download import is_archive, sgdml_fingerprint
from gmnn.data.errors import DataError
from gmnn.data.readers import read_ani_h5, read_rmd17_npz, read_sgdml_npz
from gmnn.data.splits import Split, make_split
from gmnn.data.structures import Structures
from gmnn.settings import Settings, SettingsError, option

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file."""

    url: str
    filename: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    mirrors: tuple[str, ...] = ()
    origin: str = ""  # where the URL and checksum were found


@dataclass(frozen=True)
class Source:
    """A data set: one or more files, and what to take out of archives."""

    name: str
    title: str
    doi: str
    files: tuple[RemoteFile, ...]
    license: str = ""
    # Fingerprints stored inside the data files (sGDML npz key ``md5``), by member name.
    fingerprints: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# rMD17 (Christensen & von Lilienfeld, Mach. Learn.: Sci. Technol. 1, 045018 (2020)).
RMD17 = Source(
    name="rmd17",
    title="Revised MD17 (rMD17): 100,000 PBE/def2-SVP structures per molecule",
    doi="10.6084/m9.figshare.12672038",
    license="CC0",
    files=(
        RemoteFile(
            url="https://figshare.com/ndownloader/files/23950376",
            filename="rmd17.tar.bz2",
            sha256="cddeea2ec2c4b22a9de16a9a65a3eeedac5b29da9c99c20bbff0153912bf922b",
            md5="cb1a927628d96f2e966025da4fb63d18",
            size=1_066_301_513,
            mirrors=(
                "https://archive.materialscloud.org/record/file?filename=rmd17.tar.bz2&record_id=466",
            ),
            origin=(
                "URL: figshare file 23950376 of article 12672038 v3, used by schnetpack "
                "rmd17.py, load-atoms importers/rmd17.py and others; mirror: Materials Cloud "
                "record 466 (DOI 10.24435/materialscloud:wy-kn), used by PyTorch Geometric MD17. "
                "sha256/md5/size: a public dataset note recording the figshare v3 metadata "
                "and a full download (sha256 cddeea2e...922b, md5 cb1a9276...3d18, "
                "1,066,301,513 bytes); the sha256 prefix cddeea2ec2c4 is independently pinned "
                "by jla-gardner/load-atoms (src/load_atoms/database/importers/rmd17.py, "
                "FileDownload.expected_hash = first 12 hex of sha256)."
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# sGDML coupled-cluster data sets (Chmiela et al., Nat. Commun. 9, 3887 (2018)).
SGDML_NAMES = {
    "ethanol": "ethanol_ccsd_t",
    "malonaldehyde": "malonaldehyde_ccsd_t",
    "benzene": "benzene_ccsd_t",
    "toluene": "toluene_ccsd_t",
    "aspirin": "aspirin_ccsd",
}
SGDML_BASE_URL = "http://www.quantum-machine.org/gdml/data/npz"
SGDML_PROXY_URL = "https://sgdml.org/secure_proxy.php?file=data/npz"


def _sgdml(molecule: str) -> Source:
    name = SGDML_NAMES[molecule]
    return Source(
        name=f"md17_ccsd/{molecule}",
        title=f"sGDML {name}: coupled-cluster energies and forces (train and test files)",
        doi="10.1038/s41467-018-06169-2",
        files=(
            RemoteFile(
                url=f"{SGDML_BASE_URL}/{name}.zip",
                filename=f"{name}.zip",
                mirrors=(f"{SGDML_PROXY_URL}/{name}.zip",),
                origin=(
                    "URL: mir-group/nequip sGDML_CCSD_DataModule.URL_DICT and other loaders "
                    "(quantum-machine.org/gdml/data/npz/<name>.zip; sgdml's own `sgdml-get` "
                    "uses the same base URL); mirror: sgdml.org secure_proxy.php, seen in a "
                    "public loader. No checksum of the zip is published anywhere we found: "
                    "sha256 is recorded on first download."
                ),
            ),
        ),
        fingerprints=(
            # npz key 'md5' of the official ethanol_ccsd_t-train.npz, read from
            # shared/data/md17_ccsd (a 700-row subset that kept the original key).
            {"ethanol_ccsd_t-train.npz": "cdad377f9048f070ba9071b647d19397"}
            if molecule == "ethanol"
            else {}
        ),
    )


MD17_CCSD = {molecule: _sgdml(molecule) for molecule in SGDML_NAMES}

# --------------------------------------------------------------------------------------------
# ANI-1x and ANI-1ccx (Smith et al., Sci. Data 7, 134 (2020)): one HDF5 file holds both;
# ANI-1ccx is the subset with non-NaN 'ccsd(t)_cbs.energy'.
ANI1X = Source(
    name="ani1x",
    title="ANI-1x / ANI-1ccx release (ani1x-release.h5)",
    doi="10.6084/m9.figshare.c.4712477",
    license="CC BY 4.0",
    files=(
        RemoteFile(
            url="https://springernature.figshare.com/ndownloader/files/18112775",
            filename="ani1x-release.h5",
            sha256="fe0ba06198ee72cf1003deebab2652097f6ab518337784dc811fa7da0c3bf5ac",
            md5="98090dd6679106da861f52bed825ffb7",
            origin=(
                "URL: figshare file 18112775 (article 10.6084/m9.figshare.10047041.v1 in "
                "collection c.4712477), used by jla-gardner/load-atoms importers/ani_1x.py "
                "and ani_1ccx.py. sha256: pinned in a public ANI-1x curation script and its "
                "spec (both 'fe0ba061...f5ac', measured on a download), whose first 12 hex "
                "equal load-atoms' expected_hash 'fe0ba06198ee'; md5 is the figshare-"
                "published value quoted there."
            ),
        ),
    ),
)

# --------------------------------------------------------------------------------------------
# COMP6 v1 benchmark (Smith et al., J. Chem. Phys. 148, 241733 (2018)); files in git.
COMP6_BASE_URL = "https://raw.githubusercontent.com/isayev/COMP6/master/COMP6v1"
COMP6_SUBSETS: dict[str, tuple[str, ...]] = {
    "ani_md": ("ANI-MD/ani_md_bench.h5",),
    "drugbank": ("DrugBank/drugbank_testset.h5",),
    "gdb07to09": (
        "GDB07to09/gdb11_07_test500.h5",
        "GDB07to09/gdb11_08_test500.h5",
        "GDB07to09/gdb11_09_test500.h5",
    ),
    "gdb10to13": (
        "GDB10to13/gdb11_10_test500.h5",
        "GDB10to13/gdb11_11_test500.h5",
        "GDB10to13/gdb13_12_test1000.h5",
        "GDB10to13/gdb13_13_test1000.h5",
    ),
    "tripeptides": ("Tripeptides/tripeptide_full.h5",),
    "s66x8": ("s66x8/s66x8_wb97x6-31gd.h5",),
}
COMP6_SHA256 = {
    # Measured on shared/data/comp6, a byte-for-byte copy of the git blob at
    # isayev/COMP6 HEAD 79f41c156f8e19506fe951b5513b98e7c534a503.
    "s66x8/s66x8_wb97x6-31gd.h5": "c4708b2659cc3608e231ce8d1810f8407011f94bf98739a5e427c8723b19c778",
}
COMP6 = {
    subset: Source(
        name=f"comp6/{subset}",
        title=f"COMP6 v1 benchmark, {subset}",
        doi="10.1063/1.5023802",
        license="MIT",
        files=tuple(
            RemoteFile(
                url=f"{COMP6_BASE_URL}/{path}",
                filename=path,
                sha256=COMP6_SHA256.get(path),
                origin=(
                    "URL: github isayev/COMP6 (COMP6v1/<subset>/<file>), as used by "
                    "torchmd-net datasets/comp6.py. "
                    + (
                        "sha256: measured on a byte-identical copy of the git blob."
                        if path in COMP6_SHA256
                        else "No checksum published: sha256 is recorded on first download."
                    )
                ),
            )
            for path in paths
        ),
    )
    for subset, paths in COMP6_SUBSETS.items()
}

# --------------------------------------------------------------------------------------------
# Deca-alanine (Ala10): the starting structure of the embedded-ANI MD (Zaverkin et al. 2023
# simulate a 104-atom alpha-helical Ala10). The classic NAMD/CHARMM22 deca-alanine of
# WTM-eABF studies, C30H53N11O10 (neutral NH2 N-terminus, C-terminal amide), coordinates in
# Angstrom, no cell; read with gmnn.data.ala10.read_ala10_pdb. A file in a git repository,
# pinned to a commit: the URL serves the same bytes for ever.
ALA10_REPOSITORY = "Lapsis-glitch/WTM-eABF_parameters"
ALA10_COMMIT = "d7c5e5e336420abdb8586787cf766e7dd418798c"
ALA10_PATH = "Deca_ala/common/deca-ala.pdb"
ALA10 = Source(
    name="ala10",
    title="Deca-alanine (Ala10), 104 atoms, alpha-helical: NAMD/CHARMM22 structure (deca-ala.pdb)",
    doi="",  # none: a file in a GitHub repository, without a DOI
    license="none stated (the repository has no license file)",
    files=(
        RemoteFile(
            url=(
                f"https://raw.githubusercontent.com/{ALA10_REPOSITORY}/{ALA10_COMMIT}/{ALA10_PATH}"
            ),
            filename="deca-ala.pdb",
            sha256="ef7011cb8cb627bbbda6a0df5506e4a813995f95229051adb55a7b3749b65839",
            md5="5b23c686642d398267c7d6d932c20ec9",
            size=8_384,
            origin=(
                f"URL: github {ALA10_REPOSITORY}, {ALA10_PATH} at commit {ALA10_COMMIT} "
                "(raw.githubusercontent.com, pinned to the commit). sha256/md5/size: "
                "measured on shared/data/ala10/deca-ala_helix_104atoms.pdb, a byte-identical "
                "copy of the blob at that commit (8,384 bytes). The repository has no license "
                "file."
            ),
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# Resolution: the user's overrides applied to the registry

#: The sources, as named in the pipeline's ``sources:`` section and in ``data/raw/<source>/``.
SOURCE_NAMES = ("rmd17", "md17_ccsd", "ani1x", "ani1ccx", "comp6", "ala10")
#: The item of the sources staged as one directory (rmd17, ani1x, ani1ccx, ala10).
ALL = "files"
#: The finder (:func:`find_files`) that locates the files of each source.
FINDERS = {
    "rmd17": "rmd17",
    "md17_ccsd": "sgdml",
    "ani1x": "file",
    "ani1ccx": "file",
    "comp6": "comp6",
    "ala10": "ala10",
}
#: The molecules of rMD17, and where each one's file is in the official archive.
RMD17_MOLECULES = (
    "aspirin",
    "azobenzene",
    "benzene",
    "ethanol",
    "malonaldehyde",
    "naphthalene",
    "paracetamol",
    "salicylic",
    "toluene",
    "uracil",
)
RMD17_MEMBER = "rmd17/npz_data/rmd17_{molecule}.npz"

_URL = re.compile(r"^(https?|ftp|file)://\S+$")
_HEX = {"sha256": re.compile(r"^[0-9a-fA-F]{64}$"), "md5": re.compile(r"^[0-9a-fA-F]{32}$")}


def _check_location(override) -> None:
    """The ``local``, ``url`` and ``mirrors`` of an override (errors name the key)."""
    if override.local is not None and not override.local.strip():
        raise SettingsError("local", "must be a path, or null")
    _check_url("url", override.url)
    for i, url in enumerate(override.mirrors):
        _check_url(f"mirrors[{i}]", url)


def _check_url(key: str, url: str | None) -> None:
    if url is not None and not _URL.match(url):
        raise SettingsError(key, f"must be an http(s)://, ftp:// or file:// URL, got {url!r}")


def _check_digest(key: str, algorithm: str, digest: str | None) -> None:
    if digest is not None and not _HEX[algorithm].match(digest):
        size = 64 if algorithm == "sha256" else 32
        raise SettingsError(key, f"must be {size} hex characters ({algorithm}), got {digest!r}")


class FileOverride(Settings):
    """What a user may change about the remote file of one source (or one molecule).

    A ``url`` of one's own is another file: the registry's mirrors and checksums then do
    not apply (pin it with ``sha256``/``md5``). Otherwise a pin given here replaces the
    registry's, and ``mirrors`` are tried after the registry's.
    """

    local: str | None = option(
        None,
        doc="a pre-staged copy: the remote file itself (verified against its checksum) or "
        "a tree (directory, single npz, per-split files) searched for the files needed",
    )
    url: str | None = option(None, doc="another URL of the file, instead of the registry's")
    mirrors: tuple[str, ...] = option((), doc="further URLs, tried after the registry's")
    sha256: str | None = option(None, doc="pin (hex), where the registry has none")
    md5: str | None = option(None, doc="pin (hex), where the registry has none")

    def check(self) -> None:
        _check_location(self)
        _check_digest("sha256", "sha256", self.sha256)
        _check_digest("md5", "md5", self.md5)


class Comp6Override(Settings):
    """What a user may change about COMP6 v1 (several files per subset)."""

    local: str | None = option(
        None, doc="a directory holding the COMP6v1 tree, or the .h5 files side by side"
    )
    url: str | None = option(None, doc="another base URL of the COMP6v1 tree")
    mirrors: tuple[str, ...] = option((), doc="further base URLs of the COMP6v1 tree")
    sha256: dict[str, str] = option(
        default_factory=dict, doc="pins by file, e.g. {ANI-MD/ani_md_bench.h5: <hex>}"
    )
    md5: dict[str, str] = option(default_factory=dict, doc="pins by file")

    def check(self) -> None:
        _check_location(self)
        known = [f.filename for s in COMP6.values() for f in s.files]
        for algorithm in ("sha256", "md5"):
            for path, digest in getattr(self, algorithm).items():
                if path not in known:
                    raise SettingsError(
                        f"{algorithm}.{path}", f"unknown COMP6 file; known: {', '.join(known)}"
                    )
                _check_digest(f"{algorithm}.{path}", algorithm, digest)


class Overrides(Settings):
    """The pipeline's ``sources:`` section: what the user overrides, by source.

    ``md17_ccsd`` is by molecule (``sources.md17_ccsd.ethanol.local``); ``ani1ccx`` without
    overrides of its own shares ani1x's file (with ani1x's overrides); with any, it is a
    copy of its own of the ANI-1x file, from the registry's entry.
    """

    section = "sources"

    rmd17: FileOverride = option(default_factory=FileOverride, doc="rMD17 (one archive)")
    md17_ccsd: dict[str, FileOverride] = option(
        default_factory=dict, doc="sGDML coupled-cluster data, by molecule"
    )
    ani1x: FileOverride = option(default_factory=FileOverride, doc="ani1x-release.h5")
    ani1ccx: FileOverride = option(
        default_factory=FileOverride, doc="ANI-1ccx: none to share ani1x's file"
    )
    comp6: Comp6Override = option(default_factory=Comp6Override, doc="COMP6 v1")
    ala10: FileOverride = option(
        default_factory=FileOverride,
        doc="deca-ala.pdb (Ala10): a copy of the file, or a directory searched by ala10_file",
    )

    def check(self) -> None:
        for molecule in self.md17_ccsd:
            if molecule not in MD17_CCSD:
                raise SettingsError(
                    f"md17_ccsd.{molecule}",
                    f"unknown molecule; the registry has sGDML data for {', '.join(MD17_CCSD)}",
                )

    @classmethod
    def from_config(cls, section: Mapping | None) -> Overrides:
        """The checked overrides of a ``sources:`` section (empty entries allowed)."""
        section = dict(section or {})
        if isinstance(section.get("md17_ccsd"), Mapping):
            section["md17_ccsd"] = {k: v or {} for k, v in section["md17_ccsd"].items()}
        return cls.from_dict({k: ({} if v is None else v) for k, v in section.items()})


def local_replaces_download(local: str | os.PathLike | None, filename: str) -> bool:
    """Whether ``local`` is a copy of the remote file ``filename`` itself.

    It is when it is a file (links followed) and, for a remote archive, an archive too (so
    that a single npz standing in for a zip is searched instead). Such a copy is verified
    against the remote file's checksum; anything else is a tree searched for the files.
    """
    if not local or not os.path.isfile(local):
        return False
    return is_archive(local) if is_archive(filename) else True


@dataclass(frozen=True)
class FetchPlan:
    """One remote file of a source: where it comes from and where it is downloaded to."""

    source: str
    filename: str  # its name under the download directory (COMP6: a relative path)
    path: str  # where it is downloaded to
    url: str
    mirrors: tuple[str, ...] = ()
    sha256: str | None = None
    md5: str | None = None
    local: str | None = None  # a copy of the file itself, used instead of downloading it
    pin: str = ""  # the config key that pins its sha256 (for messages)

    @property
    def pinned(self) -> bool:
        return bool(self.sha256 or self.md5)

    def inputs(self) -> list[str]:
        """The local copy that replaces the download, if any (an input, so that a missing
        one is reported by name)."""
        return [self.local] if self.local else []

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "filename": self.filename,
            "path": self.path,
            "url": self.url,
            "mirrors": list(self.mirrors),
            "sha256": self.sha256,
            "md5": self.md5,
            "local": self.local,
            "pin": self.pin,
        }


@dataclass(frozen=True)
class StagePlan:
    """The raw files of one data set, staged in the directory ``path``.

    Either ``downloads`` (fetched files, archives extracted: only ``members`` of them when
    given) or a ``local`` tree, searched by ``finder`` for ``items``.
    """

    source: str
    item: str
    path: str
    finder: str
    items: tuple[str, ...]
    downloads: tuple[FetchPlan, ...] = ()
    local: str | None = None
    members: tuple[str, ...] | None = None

    @property
    def archives(self) -> list[str]:
        return [f.path for f in self.downloads]

    def inputs(self) -> dict[str, list[str]]:
        """The downloaded files, or the local tree (by name, so a missing one is reported)."""
        return {"local": [self.local]} if self.local else {"archives": self.archives}

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "item": self.item,
            "finder": self.finder,
            "items": list(self.items),
            "local": self.local,
            "members": None if self.members is None else list(self.members),
            "archives": self.archives,
            "urls": [f.url for f in self.downloads],
        }


class Sources:
    """The registry with a user's overrides applied: what to fetch and stage, and where.

    Args:
        overrides: the checked ``sources:`` section (:meth:`Overrides.from_config`).
        molecules: the MD17 molecules whose rMD17 files are staged (in one directory).
        download_path: where a remote file is downloaded to, a template with ``{source}``
            and ``{filename}`` (the pipeline's ``data/raw/{source}/download/{filename}``).
        staged_path: the directory of one data set's staged files, a template with
            ``{source}`` and ``{item}`` (``data/raw/{source}/{item}``).

    Items: ``"files"`` (:data:`ALL`) for rmd17 (all ``molecules``), ani1x, ani1ccx and
    ala10; the molecule for md17_ccsd; the subset for comp6.
    """

    def __init__(
        self,
        overrides: Overrides | None = None,
        *,
        molecules: Iterable[str] = (),
        download_path: str,
        staged_path: str,
    ):
        self.overrides = overrides if overrides is not None else Overrides()
        self.molecules = tuple(molecules)
        self.download_path = download_path
        self.staged_path = staged_path

    @classmethod
    def from_config(cls, section: Mapping | None, **kwargs) -> Sources:
        """Sources from a ``sources:`` section (checked; errors name the key)."""
        return cls(Overrides.from_config(section), **kwargs)

    # ---------------------------------------------------------------- names
    @staticmethod
    def items(source: str) -> tuple[str, ...]:
        """The items of ``source`` in the registry (its staged directories)."""
        _known(source)
        if source == "md17_ccsd":
            return tuple(MD17_CCSD)
        if source == "comp6":
            return tuple(COMP6)
        return (ALL,)

    @classmethod
    def stage_items(cls) -> list[str]:
        """The items of every source (the names of the staged directories)."""
        return list(dict.fromkeys(i for s in SOURCE_NAMES for i in cls.items(s)))

    @staticmethod
    def remote_filenames() -> list[str]:
        """The names of every remote file of the registry (as downloaded)."""
        names = [RMD17.files[0].filename, ANI1X.files[0].filename, ALA10.files[0].filename]
        names += [s.files[0].filename for s in MD17_CCSD.values()]
        names += [f.filename for s in COMP6.values() for f in s.files]
        return list(dict.fromkeys(names))

    def shares_ani1x(self) -> bool:
        """ANI-1ccx without overrides of its own uses ani1x's (staged) file."""
        return self.overrides.ani1ccx == FileOverride()

    def require(self, source: str, molecules: Iterable[str]) -> None:
        """Raise ValueError naming the ``molecules`` that ``source`` does not have (other
        sources than rmd17 and md17_ccsd, such as ``embedded``, are not checked)."""
        known = {"rmd17": RMD17_MOLECULES, "md17_ccsd": tuple(MD17_CCSD)}.get(source)
        if known is None:
            return
        missing = [m for m in molecules if m not in known]
        if missing:
            raise ValueError(
                f"sources.{source} has no entry for md17.molecules {missing} (the registry, "
                f"gmnn.data.sources, has {', '.join(known)})"
            )

    # ---------------------------------------------------------------- resolution
    def raw(self, source: str, item: str | None = None) -> str:
        """The staged directory that holds data set ``item`` of ``source`` (a molecule for
        rmd17 and md17_ccsd, a subset for comp6): ani1ccx's is ani1x's when shared.

        ala10's is ``<staged_path with item "files">`` (``data/raw/ala10/files``); the PDB
        file in it is :func:`ala10_file` of it (``deca-ala.pdb`` when downloaded or taken
        from a ``local:`` copy of the file; its own name when found in a ``local:`` tree).
        """
        if source == "rmd17":
            return self._staged(source, ALL)
        if source == "ani1ccx" and self.shares_ani1x():
            return self._staged("ani1x", ALL)
        return self._staged(source, self._item(source, item))

    def stage_plan(self, source: str, item: str | None = None) -> StagePlan:
        """What fills the staged directory of ``item`` of ``source`` (see the class)."""
        item = self._item(source, item)
        files = self._files(source, item)
        local = self._override(source, item).local
        tree = local if local and (source == "comp6" or not files[0].local) else None
        if source == "rmd17":
            if not self.molecules:
                raise ValueError("rmd17: no molecules to stage (Sources(molecules=...))")
            items = self.molecules
        else:  # the sources staged as one item have one file, found without items
            items = () if self.items(source) == (ALL,) else (item,)
        members = None
        if source == "rmd17" and tree is None:
            members = tuple(RMD17_MEMBER.format(molecule=m) for m in self.molecules)
        return StagePlan(
            source=source,
            item=item,
            path=self._staged(source, item),
            finder=FINDERS[source],
            items=tuple(items),
            downloads=() if tree else files,
            local=tree,
            members=members,
        )

    def fetch_plan(self, source: str, filename: str) -> FetchPlan:
        """The remote file ``filename`` of ``source`` (as named in its download path)."""
        for item in self.items(source):
            for f in self._files(source, item):
                if f.filename == filename:
                    return f
        raise ValueError(f"sources.{source} has no remote file {filename!r}")

    # ---------------------------------------------------------------- internals
    def _staged(self, source: str, item: str) -> str:
        return self.staged_path.format(source=source, item=item)

    def _item(self, source: str, item: str | None) -> str:
        items = self.items(source)
        if items == (ALL,):
            if item not in (None, ALL):
                raise ValueError(f"sources.{source} is staged as one item {ALL!r}, not {item!r}")
            return ALL
        if item not in items:
            what = "molecule" if source == "md17_ccsd" else "subset"
            raise ValueError(
                f"sources.{source} has no entry for {what} {item!r}; known: {', '.join(items)}"
            )
        return item

    def _override(self, source: str, item: str) -> FileOverride | Comp6Override:
        if source == "md17_ccsd":
            return self.overrides.md17_ccsd.get(item, FileOverride())
        return getattr(self.overrides, source)

    def _files(self, source: str, item: str) -> tuple[FetchPlan, ...]:
        o = self._override(source, item)
        if source == "comp6":
            return tuple(self._comp6_file(f, o) for f in COMP6[item].files)
        if source == "md17_ccsd":
            remote = MD17_CCSD[item]
        else:  # ani1ccx: the ANI-1x file (a copy of its own, with its own overrides)
            remote = {"rmd17": RMD17, "ani1x": ANI1X, "ani1ccx": ANI1X, "ala10": ALA10}[source]
        f = remote.files[0]
        moved = o.url is not None  # another file: the registry's pins do not apply
        key = f"sources.{source}" + (f".{item}" if source == "md17_ccsd" else "")
        return (
            FetchPlan(
                source=source,
                filename=f.filename,
                path=self.download_path.format(source=source, filename=f.filename),
                url=o.url or f.url,
                mirrors=(() if moved else f.mirrors) + o.mirrors,
                sha256=o.sha256 or (None if moved else f.sha256),
                md5=o.md5 or (None if moved else f.md5),
                local=o.local if local_replaces_download(o.local, f.filename) else None,
                pin=f"{key}.sha256",
            ),
        )

    def _comp6_file(self, f: RemoteFile, o: Comp6Override) -> FetchPlan:
        moved = o.url is not None
        return FetchPlan(
            source="comp6",
            filename=f.filename,
            path=self.download_path.format(source="comp6", filename=f.filename),
            url=f"{o.url.rstrip('/')}/{f.filename}" if moved else f.url,
            mirrors=(() if moved else f.mirrors)
            + tuple(f"{m.rstrip('/')}/{f.filename}" for m in o.mirrors),
            sha256=o.sha256.get(f.filename) or (None if moved else f.sha256),
            md5=o.md5.get(f.filename) or (None if moved else f.md5),
            pin=f"sources.comp6.sha256.{f.filename}",
        )


def _known(source: str) -> None:
    if source not in SOURCE_NAMES:
        raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCE_NAMES)}")


# --------------------------------------------------------------------------------------------
# Finding files in the layouts data sets come in


def _existing(paths) -> list[Path]:
    return [p for p in paths if p.is_file()]


def rmd17_files(root: str | os.PathLike, molecule: str) -> list[Path]:
    """The rMD17 npz file(s) holding ``molecule`` under ``root``.

    Accepts, in this order: ``root`` itself being an npz file; the extracted official
    archive (``rmd17/npz_data/rmd17_<molecule>.npz`` or ``npz_data/...``); a flat
    directory with ``rmd17_<molecule>.npz``; a flat directory of per-split files
    ``rmd17_<molecule>_{train,test}_NN.npz`` (all of them, sorted; they overlap and must be
    merged by ``old_indices``). Symbolic links are followed.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    name = f"rmd17_{molecule}.npz"
    for candidate in (root / "rmd17" / "npz_data" / name, root / "npz_data" / name, root / name):
        if candidate.is_file():
            return [candidate]
    split_files = sorted(
        p
        for p in root.glob(f"rmd17_{molecule}_*.npz")
        if p.stem.rsplit("_", 2)[-2] in {"train", "test"}
    )
    if split_files:
        return split_files
    raise DataError(
        root,
        f"no rMD17 file for molecule {molecule!r}: looked for {name} (optionally under "
        f"rmd17/npz_data/) and per-split files rmd17_{molecule}_{{train,test}}_NN.npz",
    )


def sgdml_files(root: str | os.PathLike, molecule: str) -> dict[str, Path | None]:
    """The sGDML ``train`` and ``test`` npz files of ``molecule`` under ``root``.

    ``root`` may be a single npz file (taken as the training file; ``test`` is then
    ``None``), or a directory holding ``<name>-train.npz`` and ``<name>-test.npz`` (as in
    the official zip; ``<name>`` e.g. ``ethanol_ccsd_t``), possibly under ``<name>/``,
    or any single ``*train*.npz`` / ``*test*.npz`` pair for that name.
    """
    root = Path(root)
    if root.is_file():
        return {"train": root, "test": None}
    name = SGDML_NAMES.get(molecule, molecule)
    found: dict[str, Path | None] = {}
    for part in ("train", "test"):
        exact = _existing(d / f"{name}-{part}.npz" for d in (root, root / name))
        loose = sorted(root.glob(f"{name}*{part}*.npz")) + sorted(root.glob(f"{name}/*{part}*.npz"))
        matches = exact or loose
        if len(matches) > 1 and not exact:
            raise DataError(root, f"several {part} files for {name}: {[str(m) for m in matches]}")
        found[part] = matches[0] if matches else None
    if found["train"] is None:
        if found["test"] is not None:
            raise DataError(root, f"found a test file but no training file for {name}")
        raise DataError(
            root, f"no sGDML file for {name}: expected {name}-train.npz (and -test.npz)"
        )
    return found


def comp6_files(root: str | os.PathLike, subset: str) -> list[Path]:
    """The COMP6 files of ``subset`` under ``root`` (the COMP6v1 tree, or flat)."""
    root = Path(root)
    if subset not in COMP6_SUBSETS:
        raise KeyError(f"unknown COMP6 subset {subset!r}; known: {sorted(COMP6_SUBSETS)}")
    out, missing = [], []
    for rel in COMP6_SUBSETS[subset]:
        candidates = _existing(
            (
                root / rel,
                root / "COMP6v1" / rel,
                root / Path(rel).name,
                root / subset / Path(rel).name,
            )
        )
        if candidates:
            out.append(candidates[0])
        else:
            missing.append(rel)
    if missing:
        raise DataError(root, f"COMP6 subset {subset!r} is missing {missing}")
    return out


#: Where :func:`ala10_file` looks first in a directory: the registry's name, flat or in the
#: layout of the source repository (a clone of it, or its ``Deca_ala/`` folder).
ALA10_CANDIDATES = (
    ALA10.files[0].filename,
    ALA10_PATH,
    ALA10_PATH.split("/", 1)[1],
)


def ala10_file(root: str | os.PathLike) -> Path:
    """The deca-alanine PDB file at ``root``.

    ``root`` may be the file itself (any name), or a directory holding ``deca-ala.pdb``
    (flat, or as ``Deca_ala/common/deca-ala.pdb`` / ``common/deca-ala.pdb`` in a clone of
    the source repository; other files such as the ``.psf`` next to it are ignored), or
    else exactly one ``*.pdb`` file directly in it (e.g. ``shared/data/ala10``, or the
    staged ``data/raw/ala10/files``). Several ``.pdb`` files and none named
    ``deca-ala.pdb`` are an error listing them: point ``sources.ala10.local`` at the one
    to use. The file is not read here (see :func:`gmnn.data.ala10.read_ala10_pdb`).
    """
    root = Path(root)
    if root.is_file():
        return root
    if not root.is_dir():
        raise DataError(root, "no such file or directory (want a .pdb file or a directory)")
    named = _existing(root / rel for rel in ALA10_CANDIDATES)
    if named:
        return named[0]
    pdbs = sorted(
        p
        for p in root.iterdir()
        if p.suffix.lower() == ".pdb" and not p.name.startswith(".") and p.is_file()
    )
    if len(pdbs) == 1:
        return pdbs[0]
    if not pdbs:
        raise DataError(
            root,
            f"no Ala10 PDB file: looked for {', '.join(ALA10_CANDIDATES)} and any single *.pdb",
        )
    raise DataError(
        root,
        f"several .pdb files and none named {ALA10_CANDIDATES[0]}: {[p.name for p in pdbs]}; "
        "point sources.ala10.local at the one to use",
    )


def find_files(kind: str, root: str | os.PathLike, items: list[str]) -> list[Path]:
    """The files of data set ``kind`` (rmd17, sgdml, comp6, file, ala10) for ``items`` under
    ``root`` (the finders of :data:`FINDERS`).

    ``items`` are molecules (rmd17, sgdml) or COMP6 subsets; ``file`` means ``root`` itself
    (or the one data file in it); ``ala10`` is :func:`ala10_file` (no items).
    """
    root = Path(root)
    if kind == "ala10":
        return [ala10_file(root)]
    if kind == "file":
        if root.is_dir():  # a staged directory: its one data file
            inside = [
                p for p in sorted(root.iterdir()) if not p.name.startswith((".", "PROVENANCE"))
            ]
            if len(inside) != 1:
                raise DataError(root, f"expected one data file, found {[p.name for p in inside]}")
            return inside
        if not root.is_file():
            raise DataError(root, "no such file or directory")
        return [root]
    found: list[Path] = []
    for item in items:
        if kind == "rmd17":
            found += rmd17_files(root, item)
        elif kind == "sgdml":
            found += [p for p in sgdml_files(root, item).values() if p is not None]
        elif kind == "comp6":
            found += comp6_files(root, item)
        else:
            raise ValueError(f"unknown kind {kind!r}")
    return list(dict.fromkeys(found))


# --------------------------------------------------------------------------------------------
# Assembling one data set from its files


def load_rmd17(root: str | os.PathLike, molecule: str) -> Structures:
    """All distinct rMD17 structures of ``molecule`` under ``root`` (see :func:`rmd17_files`).

    Files that overlap (the published train/test splits) are merged keeping each original
    MD17 index (``old_indices``, the ``ids``) once, sorted by it; identical indices must
    carry identical data. ``meta["files"]`` lists the files read.
    """
    files = rmd17_files(root, molecule)
    parts = [read_rmd17_npz(f) for f in files]
    merged = Structures.concatenate(parts)
    ids, first = np.unique(merged.ids, return_index=True)
    unique = merged.subset(first)
    if len(files) > 1:
        # the same MD17 frame must have the same geometry and labels in every file
        for part in parts:
            rows = np.searchsorted(ids, part.ids)
            if not (
                np.array_equal(unique.energy[rows], part.energy)
                and np.array_equal(unique.positions[unique.atom_indices(rows)], part.positions)
            ):
                raise DataError(
                    part.meta["source"], "disagrees with another file for the same old_indices"
                )
    meta = dict(parts[0].meta)
    meta.update(
        source=str(root),
        molecule=molecule,
        files=[str(f) for f in files],
        merged_unique_by="old_indices" if len(files) > 1 else None,
    )
    return unique.replace(meta=meta)


def load_sgdml(
    root: str | os.PathLike, molecule: str, expected: dict[str, str] | None = None
) -> Structures:
    """The sGDML coupled-cluster data of ``molecule`` under ``root`` (see :func:`sgdml_files`).

    The training file comes first, then the test file if there is one; ``meta
    ["official_test"]`` holds ``[start, stop)`` of the test file's structures (absent
    without a test file; see :func:`official_test`). The sGDML fingerprint (npz key
    ``md5``) of each file is recomputed and recorded in ``meta["fingerprints"]`` together
    with the stored and the expected value (``expected`` or the registry); a mismatch is
    logged, not raised, since subsets and re-packed files legitimately differ.
    """
    files = sgdml_files(root, molecule)
    expected = dict(
        MD17_CCSD[molecule].fingerprints if molecule in MD17_CCSD else {}, **(expected or {})
    )
    parts, fingerprints = [], {}
    for part in ("train", "test"):
        path = files[part]
        if path is None:
            continue
        parts.append(read_sgdml_npz(path))
        with np.load(path) as arrays:
            stored = str(arrays["md5"].astype(str)) if "md5" in arrays else None
            computed = sgdml_fingerprint(arrays)
        official = expected.get(f"{SGDML_NAMES.get(molecule, molecule)}-{part}.npz")
        fingerprints[part] = {
            "file": str(path),
            "stored": stored,
            "computed": computed,
            "expected": official,
            "matches_stored": stored == computed if stored else None,
            "matches_expected": official == computed if official else None,
        }
        if (stored and stored != computed) or (official and official != computed):
            log.warning(
                "%s: sGDML fingerprint %s differs from the stored %s / official %s "
                "(a subset or modified copy of the official file)",
                path,
                computed,
                stored,
                official,
            )
    merged = Structures.concatenate(parts)
    meta = dict(parts[0].meta)
    meta.update(source=str(root), molecule=molecule, fingerprints=fingerprints)
    meta["files"] = {k: (str(v) if v else None) for k, v in files.items()}
    if files["test"] is not None:
        meta["official_test"] = [len(parts[0]), len(merged)]
    return merged.replace(meta=meta)


def official_test(structures: Structures) -> np.ndarray | None:
    """Indices of the official test structures (see :func:`load_sgdml`), or None."""
    bounds = structures.meta.get("official_test")
    return None if bounds is None else np.arange(bounds[0], bounds[1], dtype=np.int64)


def load_comp6(root: str | os.PathLike, subset: str) -> Structures:
    """The COMP6 v1 ``subset`` under ``root`` (see :func:`comp6_files`), forces fixed.

    COMP6 v1 stores the energy *gradient* under ``forces``: along the 66 S66x8 dissociation
    curves, dE agrees in sign with -F.dR for only 16 of 462 steps, and with +F.dR for the
    rest (checked on s66x8_wb97x6-31gd.h5; torchmd-net's COMP6 loader negates them too).
    The forces are therefore negated here, and ``meta["forces_negated"]`` says so.
    """
    files = comp6_files(root, subset)
    merged = Structures.concatenate([read_ani_h5(f) for f in files])
    if merged.forces is not None:
        merged = merged.with_labels(forces=-merged.forces)
    meta = comp6_meta(root, subset, files, merged.meta.get("parts", [merged.meta]))
    return merged.replace(meta=meta)


def comp6_meta(root, subset: str, files, parts: list) -> dict[str, Any]:
    """The ``meta`` of a COMP6 v1 subset (its forces negated: they are gradients)."""
    return {
        "source": str(root),
        "format": "ani",
        "dataset": f"COMP6v1/{subset}",
        "files": [str(f) for f in files],
        "level_of_theory": "wB97x/6-31G(d)",
        "forces_negated": True,
        "parts": parts,
    }


def convert_comp6(
    root: str | os.PathLike[str],
    subset: str,
    out_path: str | os.PathLike[str],
    chunk_conformers: int = DEFAULT_CHUNK_CONFORMERS,
    compression: str | None = "gzip",
) -> ConversionSummary:
    """Convert the COMP6 v1 ``subset`` under ``root`` to the gmnn schema, streaming.

    Same structures and ``meta`` as :func:`load_comp6`, including its sign fix: COMP6 v1 stores the energy gradient under ``forces``, so the stored forces
    are minus the file's (``meta["forces_negated"]``).
    """
    files = comp6_files(root, subset)
    plans = [scan_ani(f) for f in files]
    meta = comp6_meta(root, subset, files, [p.meta() for p in plans])
    return convert_ani_h5(
        files,
        out_path,
        negate_forces=True,
        meta=meta,
        chunk_conformers=chunk_conformers,
        compression=compression,
    )


def load_ani1x(path: str | os.PathLike, level: str = "dft") -> Structures:
    """ANI-1x (``level="dft"``: wB97x/6-31G(d) energies and forces) or ANI-1ccx
    (``level="cc"``: CCSD(T)*/CBS energies, no forces) from ``ani1x-release.h5``."""
    keys = {"dft": ("wb97x_dz.energy", True), "cc": ("ccsd(t)_cbs.energy", False)}
    if level not in keys:
        raise ValueError(f"level must be one of {sorted(keys)}, got {level!r}")
    energy_key, forces = keys[level]
    s = read_ani_h5(path, energy_key=energy_key, require_forces=forces)
    if not forces and s.forces is not None:
        s = s.without_labels(forces=True)
    return s


# --------------------------------------------------------------------------------------------
# Splits that respect an official test set


def md17_split(
    structures: Structures,
    train_sizes: list[int] | int,
    n_valid: int,
    n_test: int | None = None,
    seed: int = 0,
    *,
    n_train: int | None = None,
) -> Split:
    """A seeded split of ``structures`` whose ``train[:n]`` serves every size in ``train_sizes``.

    If the data carry an official test set (:func:`official_test`, e.g. the sGDML test
    file), training and validation structures are drawn from the rest and ``test`` is the
    official set (or a seeded subset of ``n_test`` of it). Otherwise the test set is
    carved from what is left after validation and the first ``n_train`` training
    structures: ``n_test`` of it, or all with ``None``. ``n_train`` is a training size too;
    ``None`` means the largest of ``train_sizes``. A training size that does not fit raises
    DataError naming it.

    ``n_train`` makes the carved test set independent of the grid of training sizes. The
    MD17 DFT split passes ``md17.dft.n_train``, the pre-training set of Fig. 2, whose models
    are the ones evaluated on this test set: adding larger pre-training sizes (Fig. 3's, up
    to 65,536 of rMD17's 100,000 structures) leaves the test set as it is (90,808 = 100,000
    - 8192 - 1000). Prefixes ``train[:N]`` with ``N > n_train`` may then share structures
    with the test set, so models trained on them must not be evaluated on it (Fig. 3's are
    evaluated on the coupled-cluster test set only). The split says so in
    ``train_overlaps_test_from``: the length ``k`` of the longest prefix ``train[:k]``
    outside the test set (``n_train`` when ``n_test`` is None; absent when no prefix
    overlaps), which its JSON file records. The validation set never overlaps a prefix or
    the test set, and for the same data and seed ``train[:N]`` is the same whatever the grid
    and ``n_train``.
    """
    sizes = {int(n) for n in np.atleast_1d(train_sizes)}
    disjoint = max(sizes) if n_train is None else int(n_train)
    sizes = sorted(sizes | {disjoint})
    n_total = len(structures)
    test = official_test(structures)
    n_pool = n_total - (0 if test is None else len(test))
    n_carve = 0 if test is not None else (n_test or 0)
    room = n_pool - n_valid - n_carve  # for a training set outside the test set
    too_big = [n for n in sizes if n > room and (test is not None or n <= disjoint)]
    if too_big:
        where = "" if test is None else f" outside the {len(test)} official test structures"
        raise DataError(
            structures.meta.get("source"),
            f"training set size(s) {too_big} do not fit: {n_pool} structures{where}, minus "
            f"n_valid={n_valid}"
            + (f" and n_test={n_carve}" if n_carve else "")
            + f", leave room for at most {max(room, 0)} training structures",
        )
    longer = [n for n in sizes if n > n_pool - n_valid]  # prefixes beyond n_train (no test file)
    if longer:
        raise DataError(
            structures.meta.get("source"),
            f"training set size(s) {longer} do not fit: {n_total} structures minus "
            f"n_valid={n_valid} leave room for at most {n_total - n_valid} (training "
            f"structures beyond n_train={disjoint} may be test structures, not validation ones)",
        )
    if test is None:
        split = make_split(n_total, disjoint, n_valid, n_test, seed)
        if sizes[-1] == disjoint:
            return split
        # the same permutation, read further: train[:disjoint] is split.train
        longest = make_split(n_total, sizes[-1], n_valid, 0, seed).train
        assert np.array_equal(longest[:disjoint], split.train)
        shared = np.flatnonzero(np.isin(longest, split.test))
        overlap = {} if not shared.size else {"train_overlaps_test_from": int(shared[0])}
        return Split(
            train=longest,
            valid=split.valid,
            test=split.test,
            seed=split.seed,
            n_total=n_total,
            **overlap,
        )
    split = make_split(n_total, sizes[-1], n_valid, 0, seed, exclude=test)
    if n_test is not None:
        if n_test > len(test):
            raise DataError(
                structures.meta.get("source"),
                f"n_test={n_test} is larger than the official test set ({len(test)} structures)",
            )
        rng = np.random.default_rng([seed, 1])
        test = np.sort(rng.choice(test, size=n_test, replace=False))
    return Split(train=split.train, valid=split.valid, test=test, seed=split.seed, n_total=n_total)
