// The explorer page (viz/explorer.py): choose a step, step with the arrow keys, and
// link a picture's nodes with the listing's lines. Plain JavaScript, nothing fetched.
"use strict";
(function () {
  document.body.classList.add("js");
  const sections = Array.from(document.querySelectorAll("section.step"));
  const links = Array.from(document.querySelectorAll("#steps .steplink"));
  const stopQuiet = document.getElementById("stop-quiet");
  const prevButton = document.getElementById("prev");
  const nextButton = document.getElementById("next");
  const where = document.getElementById("where");
  let current = -1;

  // Steps the arrow keys stop at: the first, every step that changed something, and,
  // when the box is ticked, the quiet ones too.
  function stops(i) {
    return i === 0 || stopQuiet.checked || !sections[i].classList.contains("quiet");
  }
  function neighbour(from, dir) {
    for (let i = from + dir; i >= 0 && i < sections.length; i += dir) {
      if (stops(i)) return i;
    }
    return -1;
  }

  function select(i, keepHash) {
    if (i < 0 || i >= sections.length) return;
    if (current >= 0) {
      sections[current].classList.remove("current");
      links[current].classList.remove("current");
    }
    current = i;
    const section = sections[i];
    section.classList.add("current");
    links[i].classList.add("current");
    links[i].scrollIntoView({ block: "nearest" });
    prevButton.disabled = neighbour(i, -1) < 0;
    nextButton.disabled = neighbour(i, +1) < 0;
    const quiet = section.classList.contains("quiet") ? " (changed nothing)" : "";
    // steps are numbered from 0 (the graph as built), so the last is sections.length - 1
    where.textContent = "step " + i + " of 0 to " + (sections.length - 1) + ": " +
      section.dataset.name + quiet;
    fitInitially(section);
    if (!keepHash) {
      try { history.replaceState(null, "", "#step-" + i); } catch (e) { /* file: URLs may refuse */ }
    }
    document.getElementById("main").scrollTop = 0;
    window.scrollTo(0, 0);
  }

  function go(dir) {
    const i = neighbour(current, dir);
    if (i >= 0) select(i);
  }

  // -- before / after, and fitting the picture --------------------------------------
  function show(section, side) {
    const figure = section.querySelector("figure.picture");
    const on = figure.querySelector(".tab.on");
    if (on && on.dataset.show === side) return;
    figure.querySelectorAll(".svgbox").forEach(function (box) {
      box.hidden = !box.classList.contains(side);
    });
    showFirstMark(section);
    figure.querySelectorAll(".tab").forEach(function (tab) {
      tab.classList.toggle("on", tab.dataset.show === side);
    });
  }
  function toggleSide(section) {
    const on = section.querySelector(".tab.on");
    if (!section.querySelector('.tab[data-show="before"]')) return;
    show(section, on && on.dataset.show === "before" ? "after" : "before");
  }
  // Zoom: "fit" (the picture's width fits its box) or a factor of its natural size.
  function zoom(section, how) {
    const figure = section.querySelector("figure.picture");
    figure.dataset.zoom = how;
    figure.querySelectorAll(".svgbox").forEach(function (box) {
      const svg = box.querySelector("svg");
      if (!svg) return;
      const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
      const width = box.clientWidth || figure.clientWidth;
      const factor = how === "fit" ? Math.min(1, (width - 16) / Math.max(w, 1)) : Number(how);
      svg.style.width = (w * factor).toFixed(0) + "px";
      svg.style.height = (h * factor).toFixed(0) + "px";
    });
    const label = figure.querySelector(".zoomed");
    if (label) label.textContent = how === "fit" ? "fit" : Math.round(how * 100) + "%";
  }
  function zoomBy(section, ratio) {
    const figure = section.querySelector("figure.picture");
    const svg = figure.querySelector(".svgbox:not([hidden]) svg");
    if (!svg) return;
    const now = parseFloat(svg.style.width) / Math.max(svg.width.baseVal.value, 1) || 1;
    zoom(section, Math.max(0.1, Math.min(3, now * ratio)).toFixed(3));
  }
  function fitInitially(section) {
    const figure = section.querySelector("figure.picture");
    if (!figure.dataset.zoom) {
      // Fit the width when the text stays readable (60% or more); else draw it at 70%.
      const box = figure.querySelector(".svgbox:not([hidden])");
      const svg = box && box.querySelector("svg");
      const scale = svg ? (box.clientWidth - 16) / Math.max(svg.width.baseVal.value, 1) : 1;
      zoom(section, scale >= 0.6 ? "fit" : "0.7");
    }
    showFirstMark(section);
    // The listing starts a few lines above its first marked line.
    const pre = section.querySelector(".listing pre");
    const line = pre.querySelector('.line[class*="mark-"]');
    pre.scrollTop = line ? Math.max(0, line.offsetTop - 60) : 0;
  }
  function toggleFit(section) {
    const figure = section.querySelector("figure.picture");
    zoom(section, figure.dataset.zoom === "fit" ? "1" : "fit");
  }
  // Scroll `el` to the middle of `container`, moving nothing else on the page.
  function scrollWithin(container, el) {
    const c = container.getBoundingClientRect();
    const r = el.getBoundingClientRect();
    container.scrollTop += r.top - c.top - (c.height - r.height) / 2;
    container.scrollLeft += r.left - c.left - (c.width - r.width) / 2;
  }
  function showFirstMark(section) {
    const box = section.querySelector("figure .svgbox:not([hidden])");
    const mark = box && box.querySelector('g.node[class*="mark-"]:not(.legend)');
    if (mark) scrollWithin(box, mark);
    else if (box) { box.scrollTop = 0; box.scrollLeft = 0; }
  }

  // -- linking nodes and lines ----------------------------------------------------------
  function visibleSvg(section) {
    return section.querySelector("figure .svgbox:not([hidden]) svg");
  }
  function nodesFor(section, n, side) {
    const box = section.querySelector("figure .svgbox." + (side || "after"));
    return box ? Array.from(box.querySelectorAll('g.node[data-n="' + n + '"]')) : [];
  }
  function clearPicked(section) {
    section.querySelectorAll(".picked").forEach(function (el) { el.classList.remove("picked"); });
  }
  function pick(section, n, side, scrollPicture) {
    clearPicked(section);
    show(section, side || "after");
    const nodes = nodesFor(section, n, side);
    nodes.forEach(function (g) { g.classList.add("picked"); });
    if (scrollPicture && nodes.length) scrollWithin(nodes[0].closest(".svgbox"), nodes[0]);
    if ((side || "after") === "after") {
      const lines = section.querySelectorAll('.listing .line[data-n="' + n + '"]');
      lines.forEach(function (line) { line.classList.add("picked"); });
      if (lines.length && !scrollPicture) scrollWithin(lines[0].closest("pre"), lines[0]);
    }
  }

  sections.forEach(function (section) {
    section.querySelectorAll(".tab").forEach(function (tab) {
      tab.addEventListener("click", function () { show(section, tab.dataset.show); });
    });
    section.querySelector(".fit").addEventListener("click", function () { toggleFit(section); });
    section.querySelector(".zoomin").addEventListener("click", function () { zoomBy(section, 1.25); });
    section.querySelector(".zoomout").addEventListener("click", function () { zoomBy(section, 0.8); });
    section.querySelectorAll(".svgbox").forEach(function (box) {
      box.addEventListener("click", function (event) {
        const g = event.target.closest("g.node[data-n]");
        if (!g || g.classList.contains("legend")) return;
        pick(section, g.dataset.n, box.classList.contains("before") ? "before" : "after", false);
      });
    });
    const listing = section.querySelector(".listing pre");
    listing.addEventListener("click", function (event) {
      const line = event.target.closest(".line[data-n]");
      if (line) pick(section, line.dataset.n, "after", true);
    });
    listing.addEventListener("mouseover", function (event) {
      const line = event.target.closest(".line[data-n]");
      const svg = visibleSvg(section);
      if (!svg) return;
      svg.querySelectorAll("g.hover").forEach(function (g) { g.classList.remove("hover"); });
      if (line) nodesFor(section, line.dataset.n, "after").forEach(function (g) {
        g.classList.add("hover");
      });
    });
    section.querySelectorAll(".changes tr[data-n]").forEach(function (row) {
      row.addEventListener("click", function () {
        pick(section, row.dataset.n, row.dataset.side, true);
      });
    });
  });

  // -- choosing steps ------------------------------------------------------------------------
  links.forEach(function (link, i) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      select(i);
    });
  });
  prevButton.addEventListener("click", function () { go(-1); });
  nextButton.addEventListener("click", function () { go(+1); });
  stopQuiet.addEventListener("change", function () { select(current, true); });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target, tag = target.tagName;
    const typing = tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable ||
      (tag === "INPUT" && target.type !== "checkbox");
    if (typing) return;
    if (event.key === "ArrowRight") { go(+1); event.preventDefault(); }
    else if (event.key === "ArrowLeft") { go(-1); event.preventDefault(); }
    else if (event.key === "b" || event.key === "B") toggleSide(sections[current]);
    else if (event.key === "f" || event.key === "F") toggleFit(sections[current]);
    else if (event.key === "+" || event.key === "=") zoomBy(sections[current], 1.25);
    else if (event.key === "-") zoomBy(sections[current], 0.8);
  });

  // The step in the address (#step-3, or a step's name: #fuse), else the first.
  function fromHash() {
    const hash = decodeURIComponent(location.hash.replace(/^#/, ""));
    for (let i = 0; i < sections.length; i++) {
      if (hash === "step-" + i || hash === sections[i].dataset.name) return i;
    }
    return 0;
  }
  window.addEventListener("hashchange", function () { select(fromHash(), true); });
  select(fromHash(), true);
})();
