"""`kdanim check FOLDER`: is a published folder what kdanim promises, and publish-grade?

    report = check_folder("lesson/")     # a lesson folder, an explorer site or a deck
    print(report.table()); report.ok; report.summary()

A lesson folder: every file its manifest lists, with the same size and sha256; the video to the
upload guides (H.264 High profile, yuv420p, a closed GOP of at most half the frame rate, at most 2
B-frames in a row, CABAC, a constant frame rate, the moov atom first); the narration AAC-LC at 48 kHz and at
least 128 kbit/s, its integrated loudness within 1 LU of the lesson's target and its true peak at
most −1 dBTP (measured again here, by FFmpeg's ebur128, on the published file as a player decodes
it); the captions (lesson.srt and lesson.vtt the same cues, each readable: kdanim.narration.subtitles'
rules). An explorer site: its own files, then every variant as a lesson. A deck: its files, and its
clips H.264 yuv420p at a constant frame rate. With ``pages=True`` (for `kdanim check`), the pages too: axe-core
in chromium at a laptop's and a phone's viewport, zero violations (kdanim.publish.axe); a row that says it
was skipped, and why, where chromium or axe-core is not installed. Each check is a row (check, value, rule,
passed).
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import srt

from kdanim.narration import subtitles as subs
from kdanim.render.options import QUALITY_FPS

from . import axe, media
from .folder import MANIFEST

__all__ = ["Row", "Report", "check_folder", "CheckError"]

#: Within this many LU of the target, the integrated loudness passes.
LOUDNESS_TOLERANCE = 1.0
MAX_B_FRAMES = 2
SYNC = 0.2  # audio and video end within this many seconds


class CheckError(ValueError):
    """The folder is not one kdanim published (no readable manifest): nothing can be checked."""


@dataclass(frozen=True)
class Row:
    check: str
    value: str
    rule: str
    ok: bool
    skipped: bool = False  # could not run here (ok: not a failure, but said)


@dataclass
class Report:
    folder: Path
    kind: str  # "lesson", "explorer", "deck", "stills"
    rows: list[Row] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    @property
    def skipped(self) -> list[Row]:
        return [r for r in self.rows if r.skipped]

    def add(self, check: str, value, rule: str, ok: bool, skipped: bool = False) -> None:
        self.rows.append(Row(check, str(value), rule, bool(ok), skipped))

    def table(self) -> str:
        """The rows as an aligned text table: check, value, rule, ✓ or ✗."""
        head = ("check", "value", "rule", "")
        rows = [head] + [(r.check, r.value, r.rule, "–" if r.skipped else "✓" if r.ok else "✗") for r in self.rows]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip()
                         for a, b, c, d in rows)

    def summary(self) -> str:
        """One line: how many checks passed, or which failed."""
        skipped = self.skipped
        n = len(self.rows) - len(skipped)
        if self.ok:
            return (f"check: ✓ all {n} checks of the {self.kind} {self.folder} pass"
                    + (f" ({len(skipped)} skipped: {skipped[0].value})" if skipped else ""))
        bad = self.failed
        return (f"check: ✗ {len(bad)} of {n} checks of the {self.kind} {self.folder} fail: "
                + "; ".join(f"{r.check} ({r.value})" for r in bad[:3]) + (" …" if len(bad) > 3 else ""))


def check_folder(folder, pages: bool = False) -> Report:
    """Check the published folder ``folder`` (lesson, explorer site or deck); see the module's doc.

    ``pages``: audit its pages with axe-core in chromium too (a few seconds a page).
    """
    folder = Path(folder)
    manifest = _manifest(folder)
    kind = ("explorer" if "explorer" in manifest else "deck" if "deck" in manifest
            else "stills" if "preview" in manifest else "lesson")
    report = Report(folder, kind)
    _files(report, folder, manifest)
    if kind == "explorer":
        for page in manifest["explorer"]:
            variant = (folder / page).parent
            sub = Report(variant, "lesson")
            try:
                variant_manifest = _manifest(variant)
            except CheckError:
                report.add(f"{Path(page).parent}: manifest", "unreadable", "a lesson folder", False)
                continue
            _files(sub, variant, variant_manifest)
            _lesson(sub, variant, variant_manifest)
            report.rows += [Row(f"{Path(page).parent}: {r.check}", r.value, r.rule, r.ok) for r in sub.rows]
    elif kind == "deck":
        _deck(report, folder)
    elif kind == "lesson":
        _lesson(report, folder, manifest)
    if pages and kind != "stills":
        _pages(report, folder, kind, manifest)
    return report


# -- the pages --------------------------------------------------------------------------------------

def _pages(report: Report, folder: Path, kind: str, manifest: dict) -> None:
    """axe-core on the folder's pages: a deck's deck.html; a lesson's index.html; an explorer's own page and
    its first variant's (every variant's page is the same template)."""
    pages = (["deck.html"] if kind == "deck" else ["index.html"] if kind == "lesson"
             else ["index.html"] + manifest["explorer"][:1])
    pages = [p for p in pages if (folder / p).is_file()]
    rule = f"axe-core {axe.AXE_VERSION}, WCAG 2.2 AA + best practice: none at {', '.join(axe.VIEWPORTS)}"
    why = axe.unavailable()
    if why:
        report.add("page accessibility", f"skipped: {why}", rule, True, skipped=True)
        return
    for name in pages:
        found = axe.audit(folder / name)
        bad = {f"{v.id} ({len(v.targets)}, {v.impact}) at {size}" for size, vs in found.items() for v in vs}
        report.add(f"{name} accessibility", "; ".join(sorted(bad)) if bad else "0 violations", rule, not bad)


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(manifest, dict) and "kdanim" in manifest and isinstance(manifest.get("files"), list)
    except (OSError, ValueError, AssertionError):
        raise CheckError(f"{folder}: no readable {MANIFEST} of kdanim's: not a folder kdanim published") from None
    return manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(report: Report, folder: Path, manifest: dict) -> None:
    bad = []
    for f in manifest["files"]:
        p = folder / f["name"]
        if not p.is_file():
            bad.append(f"{f['name']} missing")
        elif p.stat().st_size != f["bytes"] or _sha256(p) != f["sha256"]:
            bad.append(f"{f['name']} changed")
    n = len(manifest["files"])
    report.add("files and hashes", f"{n} files match" if not bad else ", ".join(bad[:3]) + (" …" if len(bad) > 3 else ""),
               f"as {MANIFEST} lists them (size, sha256)", not bad)


# -- a lesson ---------------------------------------------------------------------------------------

def _lesson(report: Report, folder: Path, manifest: dict) -> None:
    render = manifest.get("parameters", {}).get("render", {})
    fps = None
    for name in ("lesson.mp4", "lesson.webm"):
        if (folder / name).is_file():
            fps = _video(report, folder / name, render) or fps
    if (folder / "lesson.srt").is_file() or (folder / "lesson.vtt").is_file():
        _captions(report, folder, fps or QUALITY_FPS.get(render.get("quality"), 15))


def _video(report: Report, path: Path, render: dict) -> float | None:
    name = path.name
    try:
        enc = media.encoding(path)
    except media.MediaError as e:
        report.add(f"{name}", str(e), "a readable video", False)
        return None
    v, a = enc["video"], enc["audio"]
    if v is None:
        report.add(f"{name} video", "no video stream", "one video stream", False)
        return None
    fps = v["fps"] or 0
    if path.suffix == ".mp4":
        atoms = media.mp4_atoms(path)
        first = "moov" in atoms and "mdat" in atoms and atoms.index("moov") < atoms.index("mdat")
        report.add(f"{name} layout", "moov before mdat" if first else "moov after mdat", "moov atom first (fast start)",
                   first)
        report.add(f"{name} video codec", f"{v['codec']} {v['profile']}, {v['pix_fmt']}, {v['width']}×{v['height']}",
                   "H.264 High profile, yuv420p", v["codec"] == "h264" and v["profile"] == "High"
                   and v["pix_fmt"] == "yuv420p")
        x = v["x264"]
        gop = int(fps) // 2
        closed = x.get("open_gop", "0") == "0"
        report.add(f"{name} GOP", f"{'closed' if closed else 'open'}, at most {v['max_gop']} frames",
                   f"closed, at most half the frame rate ({gop} frames)", closed and 0 < v["max_gop"] <= max(gop, 1))
        bframes = int(x["bframes"]) if "bframes" in x else None
        report.add(f"{name} B-frames", f"{bframes} in a row" if bframes is not None else "unknown (no x264 settings)",
                   f"at most {MAX_B_FRAMES} in a row", bframes is not None and bframes <= MAX_B_FRAMES)
        cabac = x.get("cabac")
        report.add(f"{name} entropy coding", {"1": "CABAC", "0": "CAVLC"}.get(cabac, "unknown (no x264 settings)"),
                   "CABAC", cabac == "1")
    else:
        report.add(f"{name} video codec", f"{v['codec']}, {v['pix_fmt']}", "VP9, yuv420p",
                   v["codec"] == "vp9" and v["pix_fmt"] == "yuv420p")
    report.add(f"{name} frame rate", f"{'constant' if v['constant_rate'] else 'variable'}, {fps:g} fps",
               "constant", v["constant_rate"])
    report.add(f"{name} video bit rate", f"{v['bit_rate'] / 1000:.0f} kbit/s", "(measured)", v["bit_rate"] > 0)
    if a is None:
        report.add(f"{name} audio", "no audio stream", "the narration track", render.get("voice") == "none")
        return fps
    if path.suffix == ".mp4":
        rate = a["encoder_bit_rate"] or 0
        report.add(f"{name} audio codec", f"{a['codec']} {a['profile']}, {a['sample_rate'] / 1000:g} kHz, "
                   f"{rate / 1000:.0f} kbit/s ({a['bit_rate'] / 1000:.0f} on average)",
                   f"AAC-LC, 48 kHz, at least {media.AUDIO_BIT_RATE // 1000} kbit/s",
                   a["codec"] == "aac" and a["profile"] == "LC" and a["sample_rate"] == media.AUDIO_RATE
                   and rate >= media.AUDIO_BIT_RATE)
    else:
        report.add(f"{name} audio codec", f"{a['codec']}, {a['sample_rate'] / 1000:g} kHz", "Opus, 48 kHz",
                   a["codec"] == "opus" and a["sample_rate"] == media.AUDIO_RATE)
    target = float(render.get("loudness", media.LOUDNESS))
    lo = media.loudness(path)
    report.add(f"{name} loudness", f"{lo.integrated:.1f} LUFS", f"{target:g} ± {LOUDNESS_TOLERANCE:g} LU integrated "
               f"(EBU R128)", abs(lo.integrated - target) <= LOUDNESS_TOLERANCE)
    report.add(f"{name} true peak", f"{lo.true_peak:.1f} dBTP", f"at most {media.TRUE_PEAK:g} dBTP",
               lo.true_peak <= media.TRUE_PEAK)
    info = media.probe(path, rms=False)
    gap = abs((info["audio_duration"] or 0) - (info["video_duration"] or 0))
    report.add(f"{name} sync", f"audio and video end {gap:.2f} s apart", f"within {SYNC:g} s", gap <= SYNC)
    return fps


# -- captions ---------------------------------------------------------------------------------------

_VTT_TIME = re.compile(r"^(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})")


def _vtt_cues(text: str) -> list[tuple[float, float, str]]:
    cues, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        m = _VTT_TIME.match(line.strip())
        if m:
            g = [int(x) for x in m.groups()]
            body = []
            for nxt in lines[i + 1:]:
                if not nxt.strip():
                    break
                body.append(nxt.strip())
            cues.append((g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000, g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000,
                         " ".join(body)))
    return cues


def _captions(report: Report, folder: Path, fps: float) -> None:
    try:
        from_srt = [(c.start.total_seconds(), c.end.total_seconds(), " ".join(c.content.split()))
                    for c in srt.parse((folder / "lesson.srt").read_text(encoding="utf-8"))]
        from_vtt = _vtt_cues((folder / "lesson.vtt").read_text(encoding="utf-8"))
    except (OSError, ValueError, srt.SRTParseError) as e:
        report.add("captions", f"unreadable: {e}", "lesson.srt and lesson.vtt", False)
        return
    same = [(round(a, 3), round(b, 3), t) for a, b, t in from_srt] == [(round(a, 3), round(b, 3), t) for a, b, t in from_vtt]
    report.add("captions", f"{len(from_srt)} cues" + ("" if same else f" in lesson.srt, {len(from_vtt)} in lesson.vtt"),
               "lesson.srt and lesson.vtt: the same cues", same and bool(from_srt))
    if not from_srt:
        return
    cues = [subs.Cue(a, b, t) for a, b, t in from_srt if b > a]
    if len(cues) < len(from_srt):
        report.add("cue times", f"{len(from_srt) - len(cues)} cues end before they start", "end after start", False)
    problems = subs.caption_problems(cues, fps)
    cps = [subs.reading_chars(c.text) / (c.end - c.start) for c in cues]
    durs = [c.end - c.start for c in cues]
    gaps = [b.start - a.end for a, b in zip(cues, cues[1:])]
    min_gap = subs.GAP_FRAMES / fps
    report.add("reading speed", f"median {statistics.median(cps):.1f}, at most {max(cps):.1f} characters/s",
               f"at most {subs.MAX_CPS:g} characters/s", max(cps) <= subs.MAX_CPS + 0.05)
    report.add("cue length", f"{min(durs):.2f}–{max(durs):.2f} s", f"{subs.MIN_CUE:.3f}–{subs.MAX_CUE:g} s",
               min(durs) >= subs.MIN_CUE - 1e-3 and max(durs) <= subs.MAX_CUE + 1e-3)
    report.add("gap between cues", f"at least {min(gaps):.3f} s" if gaps else "one cue",
               f"at least {subs.GAP_FRAMES} frames ({min_gap:.3f} s at {fps:g} fps)",
               not gaps or min(gaps) >= min_gap - 1.5e-3)
    too_wide = [p for p in problems if "lines of" in p]
    report.add("cue lines", f"{len(too_wide)} cues too wide" if too_wide else "all fit",
               f"at most {subs.MAX_LINES} lines of {subs.LINE_CHARS} characters", not too_wide)


# -- a deck -----------------------------------------------------------------------------------------

def _deck(report: Report, folder: Path) -> None:
    clips = sorted((folder / "slides" / "files").rglob("*.mp4"))
    bad = []
    for clip in clips:
        try:
            v = media.encoding(clip)["video"]
        except media.MediaError:
            v = None
        if v is None or v["codec"] != "h264" or v["pix_fmt"] != "yuv420p" or not v["constant_rate"]:
            bad.append(clip.relative_to(folder).as_posix())
    report.add("slide clips", f"{len(clips)} clips" + (f", {len(bad)} not: {bad[0]}" if bad else ""),
               "H.264, yuv420p, constant frame rate", bool(clips) and not bad)
