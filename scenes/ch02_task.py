"""Chapter 2: the task — the classes, and which of them resemble each other."""

from manim import DOWN, LEFT, RIGHT, Dot, FadeIn, FadeOut, LaggedStart, VGroup

from kdanim import facts
from kdanim.lesson import Chapter
from kdanim.viz import DataScatter, ImageGallery, PixelImage, layout, theme as T


class TheTask(Chapter):
    number = 2
    key = "task"
    reads = ("classes", "dataset.image_shape", "config.n_transfer", "data.sample_2d", "data.sample_labels",
             "data.train_2d", "data.train_labels", "data.gallery_images", "data.gallery_labels")

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
        names, data = self.class_names, self.trace["data"]
        shape = self.image_shape
        gallery = ImageGallery(data["gallery_images"], data["gallery_labels"], names, shape=shape,
                               colors=T.CLASS_COLORS)
        layout.fit_in(gallery, self.regions.right)
        self.beat("intro_images", LaggedStart(*[FadeIn(r) for r in gallery.rows], lag_ratio=0.15))
        self.beat("scatter_images", FadeIn(scatter))
        # The pairs this run's teacher finds most alike, read from its soft labels on the test set
        # (the script's `pairs` are the same three, in the same order).
        pairs = facts.confused_pairs(self.trace, 3)
        gallery_imgs = {}
        for img, y in zip(data["gallery_images"], data["gallery_labels"]):
            gallery_imgs.setdefault(y, img)
        rows = VGroup()
        for (i, j, p), words in zip(pairs, self.words("pairs").split("\n")):
            row = VGroup(PixelImage(gallery_imgs[i], shape=shape, side=0.7),
                         T.text(words, size=T.BODY, color=T.TEXT),
                         PixelImage(gallery_imgs[j], shape=shape, side=0.7),
                         T.text(self.written("pct", p), size=T.BODY, color=T.SOFT)).arrange(RIGHT, buff=0.3)
            rows.add(row)
        rows.arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        # a long heading or note (German) breaks into lines rather than shrink the panel out of reach
        room = max(rows.width, self.regions.right.width - 0.2)
        head = T.wrapped(self.words("pairs_head"), room, size=T.LABEL, color=T.TEXT)
        note = T.wrapped(self.words("pairs_note"), room, size=T.SMALL, color=T.MUTED)
        info = VGroup(head, rows, note).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        layout.fit_in(info, self.regions.right)
        self.beat("pairs_said", FadeOut(gallery),
                  LaggedStart(*[FadeIn(m) for m in (head, *rows, note)], lag_ratio=0.4))
        return info

    def families_beats(self, scatter):
        """Synthetic classes: their latent 2-D view and their families."""
        supers = self.trace["classes"]["superclass"]
        self.beat("intro", FadeIn(scatter))
        if not supers:
            return None
        # The super-classes, and why that is dark knowledge: one line per family (the script's
        # `families`, in order of first appearance), coloured as its first class.
        first = {}
        for i, sc in enumerate(supers):
            first.setdefault(sc, i)
        lines = VGroup(*[T.text(line, size=T.BODY, color=T.CLASS_COLORS[i])
                         for line, i in zip(self.words("families").split("\n"), first.values())]
                       ).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        note = self.text("families_note", size=T.LABEL, color=T.MUTED)
        info = VGroup(lines, note).arrange(DOWN, buff=0.5, aligned_edge=LEFT)
        layout.fit_in(info, self.regions.right)
        self.beat("families_said", LaggedStart(*[FadeIn(l) for l in lines], lag_ratio=0.5), FadeIn(note))
        return info

    def counts_beat(self, scatter, shown):
        """How much data each network gets, the students' labels ringed in the 2-D view (`shown` fades out)."""
        data = self.trace["data"]
        counts = VGroup(
            self.text("students", color=T.TEXT),
            *([self.text("transfer", color=T.TEXT)] if self.config_["n_transfer"] else []),
            self.text("teacher", color=T.TEACHER),
            self.text("test", color=T.MUTED),
        ).arrange(DOWN, buff=0.35, aligned_edge=LEFT)
        layout.fit_in(counts, self.regions.right)
        # The students' own labelled examples, ringed, over the dimmed sample.
        labelled = VGroup(*[
            Dot(scatter.to_panel(xy), radius=0.06, fill_color=T.CLASS_COLORS[y], fill_opacity=1.0,
                stroke_color=T.TEXT, stroke_width=1.5)
            for xy, y in zip(data["train_2d"], data["train_labels"])
        ])
        self.beat(
            "counts",
            *([FadeOut(shown)] if shown is not None else []),
            [scatter.class_groups.animate.set_fill(opacity=0.25), FadeIn(labelled), FadeIn(counts[0])],
            LaggedStart(*[FadeIn(c) for c in counts[1:]], lag_ratio=0.5),
        )
