// kdanim lesson page: chapters, transcript and captions that follow the video; the explorer's sliders.
// No network, no framework: the lesson's data is the JSON embedded in index.html.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("lesson-data").textContent);
  var video = document.getElementById("video");
  var $ = function (id) { return document.getElementById(id); };
  var lesson = null;          // the variant on show
  var cueItems = [], chapterItems = [], currentCue = -1, currentChapter = -1;

  function clock(t) {
    t = Math.max(0, Math.floor(t + 1e-6));
    var h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }
  // numbers as the lesson's language writes them (German: 92,1 % and 120.448), its words from the script
  var lang = data.variants[data.initial].lang || "en";
  var words = data.variants[data.initial].words || {};
  function pct(x) { return (100 * x).toLocaleString(lang, {minimumFractionDigits: 1, maximumFractionDigits: 1}) + (lang === "en" ? "%" : "\u00a0%"); }
  function num(x) { return x.toLocaleString(lang === "en" ? "en-US" : lang); }
  function fixed(x, d) { return x.toLocaleString(lang, {minimumFractionDigits: d, maximumFractionDigits: d}); }
  function size(b) { return b >= 1e6 ? fixed(b / 1e6, 1) + " MB" : Math.max(1, Math.round(b / 1e3)) + " kB"; }
  function short(x) { return lang === "en" ? String(x) : x.toLocaleString(lang, {maximumFractionDigits: 6}); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function seekButton(start, label) {
    var b = el("button", {type: "button", "data-start": String(start)});
    b.appendChild(el("span", {"class": "time"}, clock(start)));
    b.appendChild(document.createTextNode(" " + label));   // its name is what it shows (WCAG 2.5.3)
    b.addEventListener("click", function () { seek(start); });
    return b;
  }
  function seek(t) {
    video.currentTime = t;
    follow();
  }

  // -- sources: the first format this browser plays (mp4 first, WebM as the fallback)
  function playable(lesson) {
    for (var i = 0; i < lesson.sources.length; i++) {
      if (video.canPlayType(lesson.sources[i].type)) { return lesson.sources[i]; }
    }
    return null;
  }

  // -- captions: the lesson.vtt file as a <track> over http(s); from file:// (where a <track> cannot load:
  // unique origin) the same cues in a script track, one per variant (removing cues leaves them on screen)
  var fileTracks = {};
  function setCaptions(lesson) {
    var old = video.querySelector("track");
    if (old) { old.remove(); }
    Object.keys(fileTracks).forEach(function (k) { fileTracks[k].mode = "disabled"; });
    if (location.protocol === "file:") {
      var t = fileTracks[lesson.vtt];
      if (!t) {
        t = fileTracks[lesson.vtt] = video.addTextTrack("captions", words.lang_name || "English", lesson.lang || "en");
        lesson.cues.forEach(function (c) { t.addCue(new VTTCue(c[0], c[1], c[2])); });
      }
      t.mode = "showing";
    } else {
      var tr = el("track", {kind: "captions", src: lesson.vtt, srclang: lesson.lang || "en", label: words.lang_name || "English",
                            "default": ""});
      video.appendChild(tr);
      tr.track.mode = "showing";
    }
  }

  function render(lesson) {
    $("heading").textContent = lesson.title;
    var ol = $("chapters");
    ol.textContent = "";
    chapterItems = lesson.chapters.map(function (c) {
      var li = el("li");
      li.appendChild(seekButton(c.start, c.number + ". " + c.title));
      ol.appendChild(li);
      return li;
    });
    var tl = $("transcript");
    tl.textContent = "";
    cueItems = lesson.sentences.map(function (c) {   // the transcript by sentence; the captions stay cues
      var li = el("li");
      li.appendChild(seekButton(c[0], c[2]));
      tl.appendChild(li);
      return li;
    });
    var tbody = $("results").tBodies[0];
    tbody.textContent = "";
    lesson.results.forEach(function (r) {
      var tr = el("tr", {"class": "model-" + r.model});
      var th = el("th", {scope: "row"});
      th.appendChild(el("span", {"class": "swatch", "aria-hidden": "true"}));
      th.appendChild(document.createTextNode(r.label));
      tr.appendChild(th);
      tr.appendChild(el("td", {}, num(r.params)));
      tr.appendChild(el("td", {}, pct(r.accuracy)));
      tr.appendChild(el("td", {}, pct(r.agreement)));
      tr.appendChild(el("td", {}, r.latency_us == null ? "–" : fixed(r.latency_us, 2) + " µs"));
      tbody.appendChild(tr);
    });
    var cmd = $("command");   // one unbreakable span per "--option value": lines break only between them
    cmd.textContent = "";
    lesson.command.split(/ (?=--)/).forEach(function (part, i) {
      if (i) { cmd.appendChild(document.createTextNode(" ")); }
      cmd.appendChild(el("span", {"class": "arg"}, part));
    });
    $("trace-hash").textContent = lesson.trace_hash;
    var ul = $("downloads");
    ul.textContent = "";
    lesson.downloads.forEach(function (d) {
      var li = el("li");
      li.appendChild(el("a", {href: d.href, download: ""}, d.label));
      li.appendChild(document.createTextNode(" (" + size(d.bytes) + ")"));
      ul.appendChild(li);
    });
    currentCue = currentChapter = -1;
  }

  // -- following playback: the chapter and the cue that contain currentTime
  function indexAt(starts, t) {
    var k = -1;
    for (var i = 0; i < starts.length; i++) { if (starts[i] <= t + 1e-3) { k = i; } else { break; } }
    return k;
  }
  function mark(items, old, now) {
    if (old === now) { return; }
    if (old >= 0 && items[old]) { items[old].classList.remove("current"); items[old].firstChild.removeAttribute("aria-current"); }
    if (now >= 0 && items[now]) { items[now].classList.add("current"); items[now].firstChild.setAttribute("aria-current", "true"); }
  }
  function follow() {
    var t = video.currentTime;
    var c = indexAt(lesson.chapters.map(function (x) { return x.start; }), t);
    mark(chapterItems, currentChapter, c);
    currentChapter = c;
    var k = indexAt(lesson.sentences.map(function (x) { return x[0]; }), t);
    if (k !== currentCue) {
      mark(cueItems, currentCue, k);
      currentCue = k;
      if (k >= 0) {   // scroll the transcript box only, never the page
        var box = $("transcript"), item = cueItems[k];
        var top = item.offsetTop - box.offsetTop;
        if (top < box.scrollTop || top + item.offsetHeight > box.scrollTop + box.clientHeight) {
          box.scrollTop = Math.max(0, top - box.clientHeight / 3);
        }
      }
    }
  }
  ["timeupdate", "seeked", "seeking", "loadedmetadata"].forEach(function (e) { video.addEventListener(e, follow); });

  function show(next, keepPlace) {
    var t = video.currentTime || 0, wasPlaying = !video.paused && !video.ended;
    var target = 0;
    if (keepPlace && lesson) {   // same chapter, same time into it (chapters differ in length between runs)
      var c = indexAt(lesson.chapters.map(function (x) { return x.start; }), t);
      var into = c >= 0 ? t - lesson.chapters[c].start : 0;
      var same = c >= 0 ? next.chapters.filter(function (x) { return x.number === lesson.chapters[c].number; })[0] : null;
      if (same) { target = same.start + Math.max(0, Math.min(into, same.length - 0.05)); }
    }
    lesson = next;
    render(lesson);
    var src = playable(lesson);
    $("codec-note").hidden = !!src;
    if (!src) { $("codec-download").setAttribute("href", lesson.sources[0].src); return; }
    if (video.getAttribute("src") !== src.src) {
      video.setAttribute("src", src.src);
      if (lesson.poster) { video.setAttribute("poster", lesson.poster); }
      video.load();
    }
    setCaptions(lesson);
    var place = function () {
      video.currentTime = target;
      follow();
      if (wasPlaying) { video.play().catch(function () {}); }
    };
    if (video.readyState >= 1) { place(); } else { video.addEventListener("loadedmetadata", place, {once: true}); }
  }

  // -- the explorer: a τ slider and an α slider over the grid of variants
  var tau = $("tau"), alpha = $("alpha");
  function variantAt(i, j) {
    var t = data.taus[i], a = data.alphas[j];
    return data.variants.filter(function (v) { return v.tau === t && v.alpha === a; })[0];
  }
  function showSliders() {
    var tv = "τ = " + short(data.taus[+tau.value]), av = "α = " + short(data.alphas[+alpha.value]);
    $("tau-value").textContent = tv;
    $("alpha-value").textContent = av;
    tau.setAttribute("aria-valuetext", tv);
    alpha.setAttribute("aria-valuetext", av);
    var link = $("variant-link");
    link.textContent = "";
    link.appendChild(el("a", {href: lesson.page}, words.own_page || "This run's own page"));
  }
  if (tau && alpha) {
    var first = data.variants[data.initial];
    tau.value = data.taus.indexOf(first.tau);
    alpha.value = data.alphas.indexOf(first.alpha);
    var change = function () { show(variantAt(+tau.value, +alpha.value), true); showSliders(); };
    tau.addEventListener("input", change);
    alpha.addEventListener("input", change);
  }

  // the <source> children are the no-script fallback: from here on the script chooses
  Array.prototype.slice.call(video.querySelectorAll("source")).forEach(function (s) { s.remove(); });
  show(data.variants[data.initial], false);
  if (tau && alpha) { showSliders(); }
  window.kdanimPage = {lesson: function () { return lesson; }};
})();
