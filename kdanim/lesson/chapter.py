"""The base of every chapter: a Manim scene made of narrated beats, drawn from a trace."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, Protocol, Sequence

from manim import LEFT, RIGHT, Animation, FadeOut, MarkupText, Scene, Text, VGroup

from kdanim.viz import PixelImage, layout, theme as T

__all__ = ["Chapter", "LessonContext", "Line", "Narrator", "Spoken", "Words", "plain_context"]

#: Silence between two cue chunks of one beat, and after every beat (seconds).
CHUNK_GAP = 0.15
BEAT_PAUSE = 0.45
#: How long a step that only fades things out takes.
EXIT_TIME = 0.5
#: The longest a step of a beat animates; the rest of its share of the speech holds still.
MAX_STEP = 3.0


@dataclass(frozen=True)
class Line:
    """One spoken cue: where it starts in the chapter, its text and its audio."""

    start: float
    text: str
    duration: float
    path: str | None


class Spoken(Protocol):
    """One synthesized cue: its text, its length in seconds and its audio file (None when silent)."""

    text: str
    duration: float
    path: Path | None


class Words(Protocol):
    """The lesson's words for one run (kdanim.narration.script.Words): ids are "chapter.name"."""

    def say(self, beat_id: str) -> str: ...

    def show(self, words_id: str) -> str: ...

    def title(self, key: str) -> str: ...

    def term(self, text: str) -> str: ...  # a word of the trace (a class name) in the script's language

    def written(self, kind: str, value, *args) -> str: ...  # a number as the frame writes it ("pct", ...)

    @property
    def language(self) -> str: ...  # the script's language code

    @property
    def numerals(self) -> tuple[str, str]: ...  # its decimal mark and thousands separator


class Narrator(Protocol):
    """What speaks a beat: cuts its text into cues and synthesizes each (kdanim.narration.Narrator)."""

    def speak(self, text: str, gap: float = ..., pause: float = ...) -> Sequence[Spoken]:
        """The beat's cues, spoken ``gap`` seconds apart and followed by ``pause`` seconds of silence."""


@dataclass
class LessonContext:
    """What a chapter is drawn from: the trace, the narrator, and render options."""

    trace: dict
    narrator: Narrator
    words: Words
    sweep: dict | None = None  # kdanim.sweep.chapter_view of a sweep file, for the sweep chapter
    probe_class: int = 0
    theme: str = "dark"  # kdanim.viz.theme.THEMES: "dark" (video) or "light" (projectors, handouts)
    add_sound: bool = True  # plain `manim render`: let Manim mux the speech
    check_layout: bool = False  # tests: record layout problems (and the text seen) after every beat, never stop
    check: bool = True  # a layout problem at a beat's end stops the render (False, --no-check: a warning)
    preview: bool = False  # a still of the chapter's last beat: keep it on screen at the end
    on_beat: Callable[[int, float], None] | None = None  # live progress: (beats done, seconds)
    length_step: float = 0.0  # the chapter lasts a whole number of these seconds, its last frame held (0: as it is)
    lead_in: float = 0.0  # seconds of silence before the chapter's first words (its first beat's pictures start at once)
    layout_problems: list[str] = field(default_factory=list)  # every problem found (once each), with its beat
    seen_text: list[str] = field(default_factory=list)  # tests: every Text on screen at a beat's end


#: The entry point (group, name) that builds the context of plain `manim render`, where Manim
#: constructs the scene itself: kdanim.render.context:from_environment, found by name the way Manim
#: finds its plugins, so the chapters never import the renderer.
PLAIN_CONTEXT = ("kdanim.context", "environment")


def plain_context() -> LessonContext:
    """The context for plain `manim render`, read from KDANIM_* environment variables."""
    group, name = PLAIN_CONTEXT
    found = entry_points(group=group, name=name)
    if not found:
        raise RuntimeError("kdanim is not installed (no kdanim.context entry point): pip install -e .")
    return next(iter(found)).load()()


class Chapter(Scene):
    """A chapter of the lesson: a title band, then short narrated beats.

    Subclasses set ``number`` and ``key`` and write :meth:`body`, made of
    :meth:`beat` calls (narration and animations together) or
    :meth:`narrated` blocks, each naming a beat of the script's chapter ``key``.
    Everything drawn comes from ``self.trace``; every word from the script
    (:meth:`words` for what is shown, the beats for what is said).
    """

    number: ClassVar[int] = 0
    #: The chapter's section of the lesson script ("# key: Title"): its title, beats and on-screen words.
    key: ClassVar[str] = ""
    #: Dotted trace paths this chapter reads ("config.tau", "summary", "*" = all): its render
    #: is cached under them, so a change elsewhere in the trace does not re-render it.
    #: A test checks that every value a chapter uses is covered.
    reads: ClassVar[tuple[str, ...]] = ("*",)

    def __init__(self, context: LessonContext | None = None, **kwargs) -> None:
        """``context``: what to draw; None (plain `manim render`) builds it from the environment."""
        self.ctx = context
        super().__init__(**kwargs)

    # -- set-up ---------------------------------------------------------
    def setup(self) -> None:
        if self.ctx is None:
            self.ctx = plain_context()
        ctx = self.ctx
        self.trace = ctx.trace
        T.use(ctx.theme)
        T.use_numerals(*ctx.words.numerals)  # the components' numbers in the lesson's language
        self.camera.background_color = T.BACKGROUND
        self.regions = layout.regions()
        self.lines: list[Line] = []
        self.beats: list[str] = []
        self.beat_ids: list[str] = []
        self.beat_spans: list[tuple[float, float]] = []  # (start, end) of each beat's speech
        self._problems_seen: set[tuple] = set()  # layout problems already said (layout.Problem.key)
        self._chapter_start = 0.0

    def construct(self) -> None:
        self.play_chapter()

    def play_chapter(self) -> None:
        """Play the title band and the body (also used by the one-video Lesson)."""
        self._chapter_start = self.renderer.time
        self.header = self.make_header()
        self.add(self.header)
        self.body()
        self._hold_to_step()

    def _hold_to_step(self) -> None:
        """Hold the last frame until the chapter lasts a whole number of ``ctx.length_step`` seconds (when
        that is a whole number of frames; kdanim.render.options.CHAPTER_STEP says why)."""
        step, fps = self.ctx.length_step, self.camera.frame_rate
        per_step = step * fps  # frames
        if step <= 0 or self.ctx.preview or abs(per_step - round(per_step)) > 1e-6:
            return
        per_step = int(round(per_step))
        frames = int(round((self.renderer.time - self._chapter_start) * fps))
        extra = -frames % per_step
        if extra:
            # a frozen frame is held int(duration × fps) frames: half a frame more makes that exact
            self.wait((extra + 0.5) / fps, frozen_frame=True)

    def get_time_progression(self, run_time, description, n_iterations=None, override_skip_animations=False):
        """Manim's frame times of an animation; for one taken from Manim's cache (the renderer says so: it
        draws nothing then) whose end depends on its steps, every frame's time too, not only its end, as
        if it were drawn (:meth:`_stepped_from_cache`)."""
        if self._stepped_from_cache():
            override_skip_animations = True
        return super().get_time_progression(run_time, description, n_iterations, override_skip_animations)

    def play_internal(self, skip_rendering: bool = False) -> None:
        stepped = self._stepped_from_cache()
        super().play_internal(skip_rendering)
        if stepped:
            self.update_mobjects(0)  # as Manim ends a drawn animation

    def _stepped_from_cache(self) -> bool:
        """Whether the animation being played comes from Manim's cache and must still step through its
        frames' times: when updaters are on the stage, or an animation says its end depends on its steps
        (``steps_matter``: a chart's values tweened through its setter). Their results depend on how often
        they ran (a curve's head moved frame by frame, a label rebuilt as it counts), so stepped only to
        its end the stage would differ, to the bit, from a drawn one's, and Manim's hash of every later
        animation would miss its cache. Manim's own animations are set from their progress alone: their
        end is enough, and stepping them would cost time for nothing."""
        if not getattr(self.renderer, "from_cache", False):
            return False

        def steps_matter(anims) -> bool:
            return any(getattr(a, "steps_matter", False) or steps_matter(getattr(a, "animations", ()))
                       for a in anims)
        return bool(self.updaters) or steps_matter(self.animations or ()) or \
            any(m.updaters for m in self.get_mobject_family_members())

    def body(self) -> None:  # pragma: no cover - every chapter overrides it
        raise NotImplementedError

    # -- helpers a chapter uses -------------------------------------------
    @property
    def title(self) -> str:
        return self.ctx.words.title(self.key)

    def words(self, name: str) -> str:
        """This chapter's on-screen words ``name`` (the script's ``chapter.name``), filled for this run."""
        return self.ctx.words.show(f"{self.key}.{name}")

    def text(self, name: str, size: float = T.BODY, color=None, **kwargs):
        """A Text of this chapter's on-screen words ``name``."""
        return T.text(self.words(name), size=size, color=color, **kwargs)

    @property
    def config_(self) -> dict:
        return self.trace["config"]

    @property
    def summary(self) -> dict:
        return self.trace["summary"]

    @property
    def class_names(self) -> list[str]:
        """The classes as the frame names them: the trace's names in the script's language ("Katze")."""
        return [self.ctx.words.term(n) for n in self.trace["classes"]["names"]]

    def written(self, kind: str, value, *args) -> str:
        """A number as the frame writes it in the lesson's language: ``kind`` is pct, thousands, num or signed."""
        return self.ctx.words.written(kind, value, *args)

    @property
    def probe(self) -> int:
        return self.ctx.probe_class

    @property
    def image_shape(self):
        """(H, W) when the dataset's examples are images (then the probes are drawn as pictures), else None."""
        shape = self.trace.get("dataset", {}).get("image_shape")
        return tuple(shape) if shape else None

    def probe_picture(self, side: float = 0.8, k: int | None = None):
        """The probe input (default: this lesson's) as its image, or None for a dataset without images."""
        if self.image_shape is None:
            return None
        k = self.probe if k is None else k
        return PixelImage(self.trace["data"]["probe_images"][k], shape=self.image_shape, side=side)

    def probe_badge(self):
        """The probe's image with its class, at the right end of the title band (None without images)."""
        pic = self.probe_picture()
        if pic is None:
            return None
        label = T.text(self.ctx.words.show("lesson.the_input"), size=T.LABEL, color=T.MUTED)
        badge = VGroup(label, pic).arrange(RIGHT, buff=0.2)
        return layout.fit_in(badge, self.regions.title, buff=0.05, aligned_edge=RIGHT)

    def make_header(self) -> VGroup:
        """The chapter's title band: the same place and style in every chapter."""
        head = T.text(f"{self.number} · {self.title}", size=T.HEADING, color=T.TEXT)
        return layout.fit_in(head, self.regions.title, buff=0.1, aligned_edge=LEFT)

    # -- beats ----------------------------------------------------------
    def speak(self, text: str, pause: float = BEAT_PAUSE) -> Sequence[Spoken]:
        """Synthesize (or fetch from the cache) the narration of one beat, cue by cue (``pause``: the
        silence after it, which its last caption may stay on into)."""
        return self.ctx.narrator.speak(text, gap=CHUNK_GAP, pause=pause)

    @contextmanager
    def narrated(self, name: str, *, pause: float = BEAT_PAUSE) -> Iterator["_Timer"]:
        """Narrate the beat ``name`` of this chapter; the block's animations should fill ``timer.duration``.

        Whatever time the block leaves is waited out, so speech never overlaps
        the next beat; then a short pause. A beat the script does not have (or
        leaves empty) is silent: its animations play at their shortest.
        """
        beat_id = f"{self.key}.{name}"
        text = self.ctx.words.say(beat_id)
        self.beats.append(text)
        self.beat_ids.append(beat_id)
        utts = self.speak(text, pause)
        start = self.renderer.time
        t = start + (self.ctx.lead_in if len(self.beats) == 1 else 0.0)  # the chapter's first words: after its lead-in
        for u in utts:
            self.lines.append(Line(t - self._chapter_start, u.text, u.duration,
                                   str(u.path) if u.path else None))
            if u.path is not None and self.ctx.add_sound:
                # Manim places a sound relative to the current time, which is `start` here.
                self.add_sound(str(u.path), time_offset=t - start)
            t += u.duration + CHUNK_GAP
        duration = max(t - start - CHUNK_GAP, 0.0)
        timer = _Timer(duration)
        yield timer
        left = start + duration - self.renderer.time
        if left > 1e-3:
            self.wait(left)
        self.beat_spans.append((start - self._chapter_start, self.renderer.time - self._chapter_start))
        self.wait(pause)
        if self.ctx.on_beat is not None:
            self.ctx.on_beat(len(self.beats), self.renderer.time - self._chapter_start)
        self._check_beat_end()

    def _check_beat_end(self) -> None:
        """Check the frame at the end of a beat (layout.check_layout: off-frame, overlaps, tick labels,
        contrast on the theme's background, the caption-safe band): a problem stops the render with one
        line (:class:`layout.LayoutError`); with ``check`` off it is a warning, said once; tests record."""
        ctx = self.ctx
        problems = layout.check_layout(self.mobjects, background=T.BACKGROUND,
                                       caption_safe=self.regions.caption_safe)
        where = f"chapter {self.number} ({self.title}), beat {len(self.beats)} ({self.beat_ids[-1]})"
        if ctx.check and not ctx.check_layout and problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise layout.LayoutError(f"layout check failed: {where}: {problems[0]}{more} "
                                     f"(--no-check renders it anyway)")
        for problem in problems:
            if problem.key not in self._problems_seen:
                self._problems_seen.add(problem.key)
                ctx.layout_problems.append(f"{where}: {problem}")
                if not ctx.check_layout:
                    print(f"warning: {where}: {problem}", file=sys.stderr, flush=True)
        if ctx.check_layout:
            for top in self.mobjects:
                for m in top.get_family():
                    if isinstance(m, (Text, MarkupText)):
                        ctx.seen_text.append(m.text)

    def beat(self, name: str, *steps: Animation | Iterable[Animation], pause: float = BEAT_PAUSE,
             weights: Iterable[float] | None = None, min_step: float = 0.5,
             max_step: float | None = MAX_STEP) -> None:
        """Narrate the beat ``name`` while playing ``steps`` one after the other, paced by the speech.

        A step is an animation or a list of animations played together. The
        speech time is shared between the steps by ``weights`` (equal by
        default): each step starts when its share of the speech begins and
        plays for that share, but at most ``max_step`` seconds (then the
        picture holds while the voice goes on), so a long sentence does not
        turn a fade into a crawl. A step made only of ``FadeOut`` clears the
        stage quickly (``EXIT_TIME``) instead of taking a share.
        """
        steps = [list(s) if isinstance(s, (list, tuple)) else [s] for s in steps if s is not None]
        if not steps and not self.ctx.words.say(f"{self.key}.{name}"):
            return  # nothing to say and nothing to show: no beat at all
        with self.narrated(name, pause=pause) as timer:
            if not steps:
                return
            w = list(weights) if weights is not None else [1.0] * len(steps)
            exits = [all(isinstance(a, FadeOut) for a in anims) for anims in steps]
            spoken = max(timer.duration - EXIT_TIME * sum(exits), 0.0)
            total = sum(wi for wi, e in zip(w, exits) if not e) or 1.0
            for anims, wi, exit_ in zip(steps, w, exits):
                share = EXIT_TIME if exit_ else max(spoken * wi / total, min_step)
                run_time = share if max_step is None else min(share, max_step)
                self.play(*anims, run_time=run_time)
                if share - run_time > 1e-3:
                    self.wait(share - run_time)

    def clear_body(self, *keep) -> Animation:
        """An animation fading out everything but the header (and ``keep``)."""
        gone = [m for m in self.mobjects if m is not self.header and m not in keep]
        return FadeOut(*gone) if gone else Animation(VGroup())

    def finish(self) -> None:
        """End the chapter: clear the stage for the next one (kept in preview stills)."""
        if not self.ctx.preview:
            self.play(self.clear_body(), run_time=0.5)

    # -- what the renderer collects ----------------------------------------
    def timeline(self) -> dict[str, Any]:
        """The spoken lines of this chapter, with times relative to its start."""
        return {
            "chapter": self.number,
            "title": self.title,
            "duration": self.renderer.time - self._chapter_start,
            "beats": self.beats,
            "beat_ids": self.beat_ids,
            "beat_spans": self.beat_spans,
            "lines": [l.__dict__ for l in self.lines],
            "layout_problems": list(self.ctx.layout_problems),  # said as warnings (--no-check)
        }


@dataclass
class _Timer:
    duration: float
