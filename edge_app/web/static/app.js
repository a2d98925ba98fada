/* edge_app site page: progressive enhancement only; every action also works as a plain form. */
(function () {
  "use strict";
  var csrf = document.body.getAttribute("data-csrf");

  // ---- keep the scroll position across the post-redirect-get of an action ----------------
  var KEY = "edge-app-scroll";
  try {
    var saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    sessionStorage.removeItem(KEY);
    if (saved && saved.path === location.pathname && Date.now() - saved.t < 15000 && (saved.anchor || !location.hash)) {
      window.addEventListener("load", function () {
        var to = saved.anchor && document.getElementById(saved.anchor);
        if (to) to.scrollIntoView(); else window.scrollTo(0, saved.y);
      });
    }
  } catch (e) { /* private mode */ }
  // ---- a confirmed spot is a record: an edit that touches one asks to reopen it first --------
  function spotConfirmed(id) {
    var sec = id && document.getElementById("spot-" + id);
    return !!(sec && sec.getAttribute("data-confirmed") === "true");
  }
  function touchesConfirmed(f, button) {
    if (f.id === "sel") {
      var hit = false;
      document.querySelectorAll('input[type=checkbox][form=sel]:checked').forEach(function (b) {
        var sec = b.closest("section.spot");
        if (sec && sec.getAttribute("data-confirmed") === "true") hit = true;
      });
      var target = document.getElementById("move-target");
      if (button && button.value.indexOf("to-") === 0) return hit || spotConfirmed(button.value.slice(3));
      return hit || (button && button.value === "move" && target && spotConfirmed(target.value));
    }
    var where = (button && button.hasAttribute("data-phase-button")) ? button : f;
    var own = where.closest("section.spot");
    var other = f.querySelector("select[name=other]");
    return !!(own && own.getAttribute("data-confirmed") === "true") || !!(other && spotConfirmed(other.value));
  }
  function askReopen(ev, f) {
    var button = ev.submitter || null;
    var edits = f.hasAttribute("data-edits-spot") || (button && button.hasAttribute("data-phase-button"));
    var q = document.querySelector("[data-reopen-q]");
    var flag = f.querySelector("input[name=reopen]");
    if (flag) flag.value = "";  // a yes is for this tap only (the page now stays after an answer in place)
    if (!edits || !touchesConfirmed(f, button)) return true;
    if (!window.confirm(q ? q.getAttribute("data-reopen-q") : "Reopen?")) return false;
    if (!flag) {
      flag = document.createElement("input");
      flag.type = "hidden"; flag.name = "reopen";
      f.appendChild(flag);
    }
    flag.value = "1";
    return true;
  }
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var ask = f.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { ev.preventDefault(); return; }
    if (!askReopen(ev, f)) { ev.preventDefault(); return; }
    try { sessionStorage.setItem(KEY, JSON.stringify({path: location.pathname, y: window.scrollY, t: Date.now()})); }
    catch (e) { /* ignore */ }
    sendEdit(ev, f);
  }, true);

  // ---- an edit is sent with fetch where the script runs (a plain POST without it) -------------
  // Off the device's Wi-Fi a fetch fails: the page stays as it is, selection included, and
  // says so in its own words (never the browser's error page). A refused stale page's answer
  // (409) is shown in the same line, with its reload button.
  var EDIT = /^\/(sites|spots)\/\d+\/(selection|undo|redo|confirm-all|confirm|reopen|rename|cover|merge|split|restore)$|^\/photos\/[0-9a-f]{64}\/phase$/;
  var busy = false;
  var quiet = {path: "", until: 0};
  function netLine() {
    var line = document.getElementById("net-line");
    if (!line) {
      line = document.createElement("div");
      line.id = "net-line";
      line.className = "net-line";
      line.setAttribute("role", "alert");
      var bar = document.getElementById("sel");
      if (bar) bar.insertBefore(line, bar.firstChild); else document.body.appendChild(line);
    }
    return line;
  }
  function say(nodes, cls) {
    var line = netLine();
    line.className = "net-line " + cls;
    line.textContent = "";
    nodes.forEach(function (n) { line.appendChild(n); });
    var done = document.getElementById("done-line");
    if (done) done.parentNode.removeChild(done);  // the last answer is no longer the news
  }
  function go(next) {
    // load the answer; its #anchor goes through sessionStorage, as a URL that differs from
    // this one only by its #fragment would just scroll instead of loading the page again
    var u = new URL(next, location.href);
    try {
      // another page (a split's new site, a merge's site) opens at its top, not at this one's place
      var y = u.pathname === location.pathname ? window.scrollY : 0;
      sessionStorage.setItem(KEY, JSON.stringify({path: u.pathname, y: y, anchor: u.hash.slice(1), t: Date.now()}));
    } catch (e) { /* private mode: the page opens at its top */ }
    location.assign(u.pathname + u.search);
  }
  function sendEdit(ev, f) {
    if (!window.fetch || !window.FormData || ev.defaultPrevented) return;
    var button = ev.submitter || null;
    // getAttribute: the bar's buttons are named "action", which hides the form's own f.action
    var action = (button && button.hasAttribute("formaction")) ? button.getAttribute("formaction")
      : (f.getAttribute("action") || location.href);
    var url;
    try { url = new URL(action, location.href); } catch (e) { return; }
    if (url.origin !== location.origin || !EDIT.test(url.pathname) || (f.getAttribute("method") || "").toLowerCase() !== "post") return;
    ev.preventDefault();
    if (busy) return;  // the second tap of a double tap: the first one is on its way
    // ... or it came after the first one's answer was swapped in under the finger
    if (url.pathname === quiet.path && Date.now() < quiet.until) return;
    var body;
    try { body = new FormData(f, button); } catch (e) {
      body = new FormData(f);
      if (button && button.name) body.append(button.name, button.value);
    }
    postEdit(url, body);
  }
  // one edit on its way: answered in place, with the next page to load, or refused (said in the bar)
  function postEdit(url, body) {
    busy = true;
    fetch(url.href, {method: "POST", body: body, credentials: "same-origin",
                     headers: {"X-Edge-Fetch": "1", "X-Edge-Swap": "1", "X-CSRF-Token": csrf}})
      .then(function (r) {
        var type = r.headers.get("Content-Type") || "";
        if (r.headers.get("X-Edge-Swap")) {  // answered in place: the changed pieces, or why not
          return r.text().then(function (html) {
            busy = false;
            var doc = new DOMParser().parseFromString(html, "text/html");
            if (r.ok) {
              swapIn(doc);
              quiet = {path: url.pathname, until: Date.now() + 400};
              return;
            }
            var why = doc.querySelector("[data-refused]");
            var p = document.createElement("span");
            p.textContent = why ? why.textContent : String(r.status);
            say([p], "error");
          });
        }
        if (type.indexOf("application/json") === 0) {
          return r.json().then(function (j) {
            if (j.next) { go(j.next); return; }
            if (j.login) { location.assign(j.login); return; }
            location.reload();
          });
        }
        return r.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var card = doc.querySelector("[data-stale]") || doc.querySelector("main .card");
          busy = false;
          if (!card) {
            var t = document.createElement("strong");
            t.textContent = (doc.title || "") + " (" + r.status + ")";
            say([t], "error");
            return;
          }
          var nodes = [];
          card.querySelectorAll("h1, p, li").forEach(function (n) {  // one line each
            var el = document.importNode(n, true);
            if (n.tagName === "H1") { el = document.createElement("strong"); el.textContent = n.textContent; }
            if (n.tagName === "LI") { el = document.createElement("p"); el.textContent = "· " + n.textContent; }
            nodes.push(el);
          });
          say(nodes, r.status === 409 ? "stale" : "error");
        });
      })
      .catch(function () {
        busy = false;
        var p = document.createElement("span");
        p.textContent = document.body.getAttribute("data-offline");
        say([p], "offline");
      });
  }

  // a refusal flashed on the page an action reloaded: the page keeps its scroll place, so the
  // flash at its top may be out of sight; the bar at the bottom says it too
  (function () {
    var refused = document.querySelectorAll(".flashes .flash.error");
    if (!refused.length || !document.getElementById("sel")) return;
    var nodes = [];
    refused.forEach(function (f) {
      var t = document.createElement("span");
      t.textContent = f.textContent;
      nodes.push(t);
    });
    say(nodes, "error");
  })();

  function swapIn(doc) {
    // each piece of the answer with an id takes the place of the page's own; the lead's
    // ticks in a swapped card stay ticked; the edit forms carry the answer's edit and time
    var answer = doc.querySelector("[data-answer]");
    if (!answer) { location.reload(); return; }
    var line = document.getElementById("net-line");
    if (line) line.parentNode.removeChild(line);
    var done = document.getElementById("done-line");
    if (done) done.parentNode.removeChild(done);
    Array.prototype.slice.call(answer.children).forEach(function (el) {
      if (!el.id) return;
      var node = document.importNode(el, true);
      var old = document.getElementById(el.id);
      if (old) {
        old.querySelectorAll("input[type=checkbox][form=sel]").forEach(function (b) {
          if (!b.checked) return;
          node.querySelectorAll("input[type=checkbox][form=sel]").forEach(function (nb) {
            if (nb.value === b.value) nb.checked = true;
          });
        });
        old.parentNode.replaceChild(node, old);
      } else if (el.id === "done-line" && bar) {
        bar.insertBefore(node, document.getElementById("sel-count"));
      }
    });
    var e = answer.getAttribute("data-e"), t = answer.getAttribute("data-t");
    document.querySelectorAll("input[name=e]").forEach(function (i) { i.value = e; });
    document.querySelectorAll("input[name=t]").forEach(function (i) { i.value = t; });
    refreshSelection();
  }

  // ---- selection of photos ------------------------------------------------------------------
  var bar = document.getElementById("sel");
  function refreshSelection() {
    if (!bar) return;
    var boxes = document.querySelectorAll('input[type=checkbox][form=sel]');
    var n = 0;
    boxes.forEach(function (b) {
      var tile = b.closest(".photo");
      if (tile) tile.classList.toggle("selected", b.checked);
      if (b.checked) n++;
    });
    var c = document.getElementById("sel-count");
    if (c) c.textContent = n ? c.getAttribute("data-tpl").replace("{n}", n) : c.getAttribute("data-none");
    bar.classList.toggle("none-selected", n === 0);
    document.body.classList.toggle("has-selection", n > 0);  // each spot offers "여기로"
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.matches && ev.target.matches('input[type=checkbox][form=sel]')) refreshSelection();
  });
  var clear = document.getElementById("clear-sel");
  if (clear) clear.addEventListener("click", function () {
    document.querySelectorAll('input[type=checkbox][form=sel]').forEach(function (b) { b.checked = false; });
    refreshSelection();
  });
  refreshSelection();
  // Back (or a reload) must not bring back a selection the bar does not show: the browser
  // restores ticks by position, so a photo never tapped could ride along on the next move
  window.addEventListener("pageshow", function () {
    document.querySelectorAll('input[type=checkbox][form=sel]').forEach(function (b) { b.checked = false; });
    var target = document.getElementById("move-target");
    if (target) target.selectedIndex = 0;
    refreshSelection();
  });

  // ---- drag and drop (issue 17): a fix in one gesture ------------------------------------------
  // Press and hold a photo (a finger or a pen; a mouse just moves a few pixels), then drag it onto a
  // spot: it moves there (the whole selection when the photo is part of it); onto a photo of
  // the tray (미분류): the two (and the selection) become a new spot; onto the tray: back to
  // 미분류; released anywhere else: nothing. The drop is the bar's own request (the same
  // route, reopen question, answer line, undo and offline line as a tap on "여기로").
  // A quick swipe over a photo still scrolls the page; a tap still selects. A pen is held as a
  // finger is: on a tablet the browser pans the page for a pen stroke as for a finger's, so a
  // pen that started a drag after a few pixels lost it to the page's scroll (pointercancel)
  // half-way; held still, then moved, it drags and the page stays put.
  if (bar && window.PointerEvent) (function () {
    var HOLD_MS = 350, TOUCH_SLOP = 10, MOUSE_SLOP = 6, EDGE = 80;
    var drag = null, lastDrop = 0, swallow = false;
    // the photos a drop just moved are marked for a moment on the page that answers it
    var MOVED = "edge-app-moved";
    try {
      var moved = JSON.parse(sessionStorage.getItem(MOVED) || "null");
      sessionStorage.removeItem(MOVED);
      if (moved && Date.now() - moved.t < 15000) {
        moved.shas.forEach(function (s) {
          var t = document.querySelector('.photo[data-photo="' + s + '"]');
          if (t) { t.classList.add("just-moved"); setTimeout(function () { t.classList.remove("just-moved"); }, 2500); }
        });
      }
    } catch (e) { /* private mode */ }
    function txt(key, o) { return (bar.getAttribute(key) || "").replace(/\{(\w+)\}/g, function (_, k) { return o[k]; }); }
    function tileOf(sha) { return document.querySelector('.photo[data-photo="' + sha + '"]'); }
    function selected() {
      var out = [];
      document.querySelectorAll('input[type=checkbox][form=sel]:checked').forEach(function (b) { out.push(b.value); });
      return out;
    }
    function allIn(box) {
      return drag.shas.every(function (s) { var t = tileOf(s); return t && box.contains(t); });
    }
    function targetAt(x, y) {
      var el = document.elementFromPoint(x, y);
      if (!el || bar.contains(el)) return null;
      var tray = el.closest("[data-unassigned]"), tile = el.closest(".photo[data-photo]");
      if (tray && tile && drag.shas.indexOf(tile.getAttribute("data-photo")) < 0) {
        return {kind: "new", el: tile, sha: tile.getAttribute("data-photo"), text: txt("data-drag-new", {n: drag.shas.length + 1})};
      }
      if (tray) return allIn(tray) ? null : {kind: "tray", el: tray, text: txt("data-drag-tray", {})};
      var sec = el.closest("section.spot[data-spot]");
      if (!sec || allIn(sec)) return null;
      var name = sec.querySelector(".spot-name");
      var text = txt("data-drag-to", {name: name ? name.textContent : ""});
      if (sec.getAttribute("data-confirmed") === "true") text += " · " + txt("data-drag-reopens", {});
      return {kind: "spot", el: sec, id: sec.getAttribute("data-spot"), text: text};
    }
    function hover() {
      var t = targetAt(drag.x, drag.y);
      if (drag.over && (!t || t.el !== drag.over.el)) drag.over.el.classList.remove("drop-over");
      if (t) { t.el.classList.add("drop-over"); t.el.setAttribute("data-drop", txt("data-drop-here", {})); }
      drag.over = t;
      drag.ghost.classList.toggle("cancel", !t);
      drag.caption.textContent = t ? t.text : txt("data-drag-cancel", {});
      // above the finger (which hides what is under it), kept inside the screen
      var w = drag.ghost.offsetWidth, h = drag.ghost.offsetHeight;
      var gx = Math.max(4, Math.min(window.innerWidth - w - 4, drag.x - w / 2));
      var gy = drag.y - h - (drag.held ? 36 : 12);
      if (gy < 4) gy = drag.y + 36;
      drag.ghost.style.transform = "translate(" + Math.round(gx) + "px," + Math.round(gy) + "px)";
    }
    function begin() {
      var sha = drag.tile.getAttribute("data-photo");
      var sel = selected();
      drag.shas = sel.indexOf(sha) >= 0 ? sel : [sha];
      drag.active = true;
      var ghost = document.createElement("div");
      ghost.className = "drag-ghost";
      ghost.setAttribute("aria-hidden", "true");
      var img = drag.tile.querySelector("img");
      if (img) { var copy = document.createElement("img"); copy.src = img.currentSrc || img.src; copy.alt = ""; ghost.appendChild(copy); }
      if (drag.shas.length > 1) {
        var n = document.createElement("span");
        n.className = "drag-count";
        n.textContent = String(drag.shas.length);
        ghost.appendChild(n);
      }
      drag.caption = document.createElement("span");
      drag.caption.className = "drag-caption";
      ghost.appendChild(drag.caption);
      document.body.appendChild(ghost);
      drag.ghost = ghost;
      drag.shas.forEach(function (s) { var t = tileOf(s); if (t) t.classList.add("drag-src"); });
      document.body.classList.add("dragging");
      document.querySelectorAll("section.spot[data-spot], [data-unassigned]").forEach(function (box) {
        if (!allIn(box)) box.classList.add("drop-ok");
      });
      if (drag.held) lockScroll(true);
      if (navigator.vibrate && drag.type === "touch") { try { navigator.vibrate(15); } catch (e) { /* no vibration */ } }
      hover();
      drag.raf = requestAnimationFrame(edgeScroll);
    }
    function edgeScroll() {
      // near the top (under the sticky header) or the bottom of the screen: the page scrolls
      if (!drag || !drag.active) return;
      var head = document.querySelector(".top");
      var top = head ? head.getBoundingClientRect().bottom : 0, bottom = window.innerHeight;
      var v = 0;
      if (drag.y < top + EDGE) v = -(top + EDGE - drag.y) / 4;
      else if (drag.y > bottom - EDGE) v = (drag.y - (bottom - EDGE)) / 4;
      v = Math.max(-24, Math.min(24, v));
      if (v) {
        var before = window.scrollY;
        window.scrollBy(0, v > 0 ? Math.ceil(v) : Math.floor(v));
        if (window.scrollY !== before) hover();
      }
      drag.raf = requestAnimationFrame(edgeScroll);
    }
    // while a finger or a pen drags a photo the page itself does not pan (its own edge scroll
    // aside): touch-action off for what the browser reads it for, and the moves' defaults
    // prevented below (a pen's touchmove too where the browser sends one: touchType "stylus")
    function lockScroll(on) {
      document.documentElement.style.touchAction = on ? "none" : "";
      document.body.style.touchAction = on ? "none" : "";
    }
    function end(dropIt) {
      var d = drag;
      drag = null;
      if (!d) return;
      clearTimeout(d.timer);
      if (!d.active) return;
      if (d.held) lockScroll(false);
      lastDrop = Date.now();
      swallow = true;  // the click that may follow the release selects nothing (a new touch clears it)
      setTimeout(function () { swallow = false; }, 400);
      cancelAnimationFrame(d.raf);
      if (d.ghost && d.ghost.parentNode) d.ghost.parentNode.removeChild(d.ghost);
      document.body.classList.remove("dragging");
      document.querySelectorAll(".drag-src, .drop-ok, .drop-over, [data-drop]").forEach(function (el) {
        el.classList.remove("drag-src", "drop-ok", "drop-over");
        el.removeAttribute("data-drop");
      });
      if (dropIt && d.over) send(d.shas, d.over);
    }
    function send(shas, t) {
      if (busy) return;
      var body = new FormData();
      bar.querySelectorAll("input[type=hidden]").forEach(function (i) { if (i.name !== "reopen") body.append(i.name, i.value); });
      var all = shas.slice();
      if (t.kind === "new" && all.indexOf(t.sha) < 0) all.push(t.sha);
      all.forEach(function (s) { body.append("photo", s); });
      body.append("action", t.kind === "spot" ? "to-" + t.id : (t.kind === "tray" ? "to-none" : "new"));
      // a confirmed spot is a record: the same question as a tap, before anything is sent
      var locked = all.some(function (s) {
        var sec = tileOf(s) && tileOf(s).closest("section.spot");
        return sec && sec.getAttribute("data-confirmed") === "true";
      }) || (t.kind === "spot" && t.el.getAttribute("data-confirmed") === "true");
      if (locked) {
        if (!window.confirm(bar.getAttribute("data-reopen-q") || "Reopen?")) return;
        body.append("reopen", "1");
      }
      try {
        sessionStorage.setItem(KEY, JSON.stringify({path: location.pathname, y: window.scrollY, t: Date.now()}));
        sessionStorage.setItem(MOVED, JSON.stringify({shas: all, t: Date.now()}));
      } catch (e) { /* ignore */ }
      postEdit(new URL(bar.getAttribute("action"), location.href), body);
    }
    document.addEventListener("pointerdown", function (ev) {
      swallow = false;
      if (drag || !ev.isPrimary || ev.button > 0) return;
      var pick = ev.target.closest && ev.target.closest(".photo .pick");
      if (!pick || !pick.querySelector("input[form=sel]")) return;
      drag = {id: ev.pointerId, type: ev.pointerType, x0: ev.clientX, y0: ev.clientY, x: ev.clientX, y: ev.clientY,
              tile: pick.closest(".photo"), active: false, over: null,
              held: ev.pointerType === "touch" || ev.pointerType === "pen"};  // a finger or a pen: hold to drag
      if (drag.held) {
        drag.timer = setTimeout(function () { if (drag && !drag.active) begin(); }, HOLD_MS);
      }
    });
    document.addEventListener("pointermove", function (ev) {
      if (!drag || ev.pointerId !== drag.id) return;
      drag.x = ev.clientX; drag.y = ev.clientY;
      var moved = Math.abs(drag.x - drag.x0) + Math.abs(drag.y - drag.y0);
      if (!drag.active) {
        if (drag.held) { if (moved > TOUCH_SLOP) end(false); }  // a swipe (a finger's or a pen's): the page scrolls
        else if (moved > MOUSE_SLOP) begin();
        return;
      }
      ev.preventDefault();
      hover();
    });
    document.addEventListener("pointerup", function (ev) { if (drag && ev.pointerId === drag.id) end(true); });
    document.addEventListener("pointercancel", function (ev) { if (drag && ev.pointerId === drag.id) end(false); });
    // while a photo is held the finger (or the pen) drags it, not the page
    document.addEventListener("touchmove", function (ev) { if (drag && drag.active && ev.cancelable) ev.preventDefault(); },
                              {passive: false});
    // a long press is a drag, not the browser's image menu
    document.addEventListener("contextmenu", function (ev) {
      if (ev.target.closest && ev.target.closest(".photo .pick") && (drag || Date.now() - lastDrop < 800)) ev.preventDefault();
    });
    document.addEventListener("click", function (ev) {
      if (swallow && ev.target.closest && ev.target.closest(".photo")) {
        swallow = false;
        ev.preventDefault(); ev.stopPropagation();
      }
    }, true);
    document.addEventListener("keydown", function (ev) { if (drag && ev.key === "Escape") end(false); });
  })();

  // ---- before / after slider -----------------------------------------------------------------
  document.querySelectorAll("[data-slider]").forEach(function (box) {
    var over = box.querySelector("img.over"), range = box.querySelector("input[type=range]");
    function set() { over.style.clipPath = "inset(0 0 0 " + range.value + "%)"; }
    range.addEventListener("input", set);
    set();
  });

  // ---- upload: one photo per request, retried, with progress ------------------------------------
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData) return;
  var status = document.getElementById("upload-status");
  var chosen = document.getElementById("chosen");
  var inputs = form.querySelectorAll("input[type=file]");
  var lang = document.body.getAttribute("data-lang");
  var T = lang === "en" ? {
    chosen: "{n} photos chosen", up: "Uploading {n} of {m}", retry: "Connection lost. Retrying…",
    done: "Upload done: {a} added, {d} already here, {r} refused", failed: "Could not upload {n} photos. Try again."
  } : {
    chosen: "사진 {n}장 선택됨", up: "올리는 중 {n} / {m}", retry: "연결이 끊겼습니다. 다시 시도하는 중…",
    done: "올리기 완료: 추가 {a}, 중복 {d}, 거부 {r}", failed: "사진 {n}장을 올리지 못했습니다. 다시 해 주세요."
  };
  function fmt(s, o) { return s.replace(/\{(\w)\}/g, function (_, k) { return o[k]; }); }
  function files() {
    var out = [];
    inputs.forEach(function (i) { for (var k = 0; k < i.files.length; k++) out.push(i.files[k]); });
    return out;
  }
  inputs.forEach(function (i) {
    i.addEventListener("change", function () { chosen.textContent = fmt(T.chosen, {n: files().length}); });
  });
  function post(url, body) {
    return fetch(url, {method: "POST", body: body, credentials: "same-origin",
                       headers: {"X-CSRF-Token": csrf, "Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401 || r.status === 403) {
          return r.json().then(function (j) { location.href = j.login || "/login"; throw new Error("login"); });
        }
        if (r.status === 507) {  // the device's disk is full: retrying cannot help, say so at once
          return r.json().then(function (j) { var e = new Error("full"); e.text = j.message; throw e; });
        }
        if (r.status >= 500) throw new Error("server " + r.status);
        return r.json();
      });
  }
  function sendOne(batch, file, attempt) {
    var fd = new FormData();
    fd.append("photos", file, file.name);
    return post("/batches/" + batch + "/photos", fd).catch(function (e) {
      if (e.message === "login" || e.message === "full" || attempt >= 4) throw e;
      status.textContent = T.retry;
      return new Promise(function (res) { setTimeout(res, 800 * Math.pow(2, attempt)); })
        .then(function () { return sendOne(batch, file, attempt + 1); });
    });
  }
  var submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  inputs.forEach(function (i) { i.addEventListener("change", function () { submit.disabled = !files().length; }); });
  form.addEventListener("submit", function (ev) {
    var list = files();
    if (!list.length) { ev.preventDefault(); return; }
    ev.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    var counts = {a: 0, d: 0, r: 0}, lost = 0, done = 0;
    var bar = document.createElement("progress");
    bar.max = list.length; bar.value = 0;
    status.textContent = fmt(T.up, {n: 0, m: list.length});
    status.appendChild(bar);
    post("/batches", new FormData()).then(function (b) {
      var i = 0;
      function next() {
        if (i >= list.length) return Promise.resolve();
        var f = list[i++];
        return sendOne(b.id, f, 0).then(function (res) {
          (res.results || []).forEach(function (x) {
            if (x.outcome === "added") counts.a++; else if (x.outcome === "duplicate") counts.d++; else counts.r++;
          });
        }, function (e) { if (e.message === "login" || e.message === "full") throw e; lost++; }).then(function () {
          done++;
          status.firstChild.textContent = fmt(T.up, {n: done, m: list.length});
          bar.value = done;
          return next();
        });
      }
      return Promise.all([next(), next()]).then(function () {
        return post("/batches/" + b.id + "/finish", new FormData());
      }).then(function (fin) {
        status.textContent = fmt(T.done, counts) + (lost ? " · " + fmt(T.failed, {n: lost}) : "");
        location.href = fin.next;
      });
    }).catch(function (e) {
      if (e.message === "full") { status.textContent = e.text; button.disabled = false; return; }
      if (e.message !== "login") { status.textContent = fmt(T.failed, {n: list.length - done}); button.disabled = false; }
    });
  });
})();
