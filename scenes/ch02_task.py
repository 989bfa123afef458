"""Chapter 2: the task — the classes, and which of them resemble each other."""

from manim import DOWN, LEFT, RIGHT, Dot, FadeIn, FadeOut, LaggedStart, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.narration import speech as say
from kdanim.viz import DataScatter, ImageGallery, PixelImage, layout, theme as T


def _spoken_list(words):
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


class TheTask(Chapter):
    number = 2
    title = "The task"
    reads = ("classes", "dataset", "config.n_classes", "config.n_features", "config.n_test", "config.n_train",
             "config.n_transfer", "config.teacher_n_train", "data.sample_2d", "data.sample_labels", "data.train_2d",
             "data.train_labels", "data.gallery_images", "data.gallery_labels")

    def body(self):
        data = self.trace["data"]
        # The data in its 2-D view; what comes with it depends on the dataset (images, or families).
        scatter = DataScatter(data["sample_2d"], data["sample_labels"], self.class_names, side=4.4)
        layout.fit_in(scatter, self.regions.left)
        shown = self.images_beats(scatter) if self.image_shape is not None else self.families_beats(scatter)
        self.counts_beat(scatter, shown)
        self.finish()

    def images_beats(self, scatter):
        """A dataset of images: a gallery of real examples, their 2-D view, the pairs the teacher finds alike."""
        cfg, names, data = self.config_, self.class_names, self.trace["data"]
        shape = self.image_shape
        gallery = ImageGallery(data["gallery_images"], data["gallery_labels"], names, shape=shape,
                               colors=T.CLASS_COLORS)
        layout.fit_in(gallery, self.regions.right)
        self.beat(
            f"The task: recognise {self.trace['dataset']['title']}, {say.small(len(names))} classes, "
            f"{names[0]} to {names[-1]}. Each image is {shape[0]} by {shape[1]} grey levels: "
            f"{cfg['n_features']} numbers. These are some of the students' labelled examples.",
            LaggedStart(*[FadeIn(r) for r in gallery.rows], lag_ratio=0.15),
        )
        self.beat(
            f"On the left, a sample of the images placed by their {self.trace['dataset']['view']}, "
            f"coloured by digit. Some digits form their own islands; others overlap.",
            FadeIn(scatter),
        )
        # The pairs this run's teacher finds most alike, read from its soft labels on the test set.
        pairs = facts.confused_pairs(self.trace, 3)
        gallery_imgs = {}
        for img, y in zip(data["gallery_images"], data["gallery_labels"]):
            gallery_imgs.setdefault(y, img)
        rows = VGroup()
        for i, j, p in pairs:
            row = VGroup(PixelImage(gallery_imgs[i], shape=shape, side=0.7),
                         T.text(f"{names[i]}  and  {names[j]}", size=T.BODY, color=T.TEXT),
                         PixelImage(gallery_imgs[j], shape=shape, side=0.7),
                         T.text(facts.fmt_pct(p), size=T.BODY, color=T.SOFT)).arrange(RIGHT, buff=0.3)
            rows.add(row)
        rows.arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        head = T.text("pairs this teacher finds most alike", size=T.LABEL, color=T.TEXT)
        note = T.text(f"mean soft probability of the other digit, τ = {facts.fmt_num(cfg['tau'])}",
                      size=T.SMALL, color=T.MUTED)
        info = VGroup(head, rows, note).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        layout.fit_in(info, self.regions.right)
        spoken = [f"{names[i]} with {names[j]}" for i, j, _ in pairs]
        self.beat(
            f"Some digits look alike. Averaged over the test set, this run's teacher gives the most "
            f"probability to the other digit of these pairs: {_spoken_list(spoken)}. "
            f"That similarity is exactly what its soft predictions can pass on.",
            FadeOut(gallery),
            LaggedStart(*[FadeIn(m) for m in (head, *rows, note)], lag_ratio=0.4),
        )
        return info

    def families_beats(self, scatter):
        """Synthetic classes: their latent 2-D view and their families."""
        cfg, names = self.config_, self.class_names
        supers = self.trace["classes"]["superclass"]
        self.beat(
            f"The task: sort examples into {say.small(len(names))} classes, {_spoken_list(names)}. "
            f"Each example has {cfg['n_features']} features, made from a hidden two-dimensional "
            f"position. Here is that position for a sample of the data.",
            FadeIn(scatter),
        )
        if not supers:
            return None
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
        return info

    def counts_beat(self, scatter, shown):
        """How much data each network gets, the students' labels ringed in the 2-D view (`shown` fades out)."""
        cfg, data = self.config_, self.trace["data"]
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
            *([FadeOut(shown)] if shown is not None else []),
            [scatter.class_groups.animate.set_fill(opacity=0.25), FadeIn(labelled), FadeIn(counts[0])],
            LaggedStart(*[FadeIn(c) for c in counts[1:]], lag_ratio=0.5),
        )
