"""Chapter 2: the task — five classes, and which of them resemble each other."""

from manim import DOWN, LEFT, Dot, FadeIn, FadeOut, LaggedStart, VGroup

from kdanim import facts
from kdanim.chapter import Chapter
from kdanim.narration import speech as say
from kdanim.viz import DataScatter, layout, theme as T


def _spoken_list(words):
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


class TheTask(Chapter):
    number = 2
    title = "The task"
    reads = ("classes", "config.n_classes", "config.n_features", "config.n_test", "config.n_train",
             "config.n_transfer", "config.teacher_n_train", "data.sample_2d", "data.sample_labels", "data.train_2d",
             "data.train_labels")

    def body(self):
        cfg, names = self.config_, self.class_names
        data = self.trace["data"]
        supers = self.trace["classes"]["superclass"]

        # Beat 1: the data, in its 2-D view.
        scatter = DataScatter(data["sample_2d"], data["sample_labels"], names, colors=T.CLASS_COLORS, side=4.4)
        layout.fit_in(scatter, self.regions.left)
        self.beat(
            f"The task: sort examples into five classes, {_spoken_list(names)}. "
            f"Each example has {cfg['n_features']} features, made from a hidden two-dimensional "
            f"position. Here is that position for a sample of the data.",
            FadeIn(scatter),
        )

        # Beat 2: the super-classes, and why that is dark knowledge.
        groups = {}
        for i, sc in enumerate(supers):
            groups.setdefault(sc, []).append(i)
        lines = VGroup(*[
            T.text(f"{sc}s: " + ", ".join(names[i] for i in idx), size=T.BODY,
                   color=T.CLASS_COLORS[idx[0]])
            for sc, idx in groups.items()
        ]).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        note = T.text("siblings overlap;\nthe two families are far apart", size=T.LABEL, color=T.MUTED)
        info = VGroup(lines, note).arrange(DOWN, buff=0.5, aligned_edge=LEFT)
        layout.fit_in(info, self.regions.right)
        fams = [f"{_spoken_list([names[i] for i in idx])} are {sc}s" for sc, idx in groups.items()]
        self.beat(
            f"The classes come in {say.small(len(groups))} families: {'; '.join(fams)}. "
            f"Classes of one family overlap, so even a good model is unsure between siblings. "
            f"That similarity is exactly what a teacher's soft predictions can pass on.",
            LaggedStart(*[FadeIn(l) for l in lines], lag_ratio=0.5),
            FadeIn(note),
        )

        # Beat 3: how much data each network gets.
        per_class, n_transfer = cfg["n_train"] // cfg["n_classes"], cfg["n_transfer"]
        counts = VGroup(
            T.text(f"students: {cfg['n_train']} labels (ringed)\n{per_class} per class", size=T.BODY, color=T.TEXT),
            *([T.text(f"+ {facts.fmt_int(n_transfer)} inputs, no labels", size=T.BODY, color=T.TEXT)]
              if n_transfer else []),
            T.text(f"teacher: {facts.fmt_int(cfg['teacher_n_train'])} labelled", size=T.BODY, color=T.TEACHER),
            T.text(f"test set: {facts.fmt_int(cfg['n_test'])} examples", size=T.BODY, color=T.MUTED),
        ).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        layout.fit_in(counts, self.regions.right)
        # The students' own labelled examples, ringed, over the dimmed sample.
        labelled = VGroup(*[
            Dot(scatter.to_panel(xy), radius=0.06, fill_color=T.CLASS_COLORS[y], fill_opacity=1.0,
                stroke_color=T.TEXT, stroke_width=1.5)
            for xy, y in zip(data["train_2d"], data["train_labels"])
        ])
        unlabelled = (
            f"Both students also see {say.count(n_transfer)} more of the teacher's inputs, without labels: "
            f"the student from scratch cannot learn from those, the distilled student learns the teacher's "
            f"soft labels on them. " if n_transfer else "")
        self.beat(
            f"The students get only {cfg['n_train']} labels, {per_class} per class: "
            f"the ringed points. {unlabelled}"
            f"The teacher learned from {say.count(cfg['teacher_n_train'])} labelled examples. "
            f"Every accuracy in this lesson is measured on {say.count(cfg['n_test'])} held-out test examples.",
            FadeOut(info),
            [scatter.class_groups.animate.set_fill(opacity=0.25), FadeIn(labelled), FadeIn(counts[0])],
            LaggedStart(*[FadeIn(c) for c in counts[1:]], lag_ratio=0.5),
        )
        self.finish()
