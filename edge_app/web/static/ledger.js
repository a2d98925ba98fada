// Photo ledger on the site page. Export: one at a time, with a "preparing" line until the
// server's answer sets the form's token cookie. Fields: Enter moves to the next field (the last one saves),
// so a spot's 위치 / 관리번호 / 내용 are typed in one go on a touch keyboard. Enter that
// finishes a Hangul syllable (IME composition) is left to the keyboard.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.isComposing || e.keyCode === 229) return;
    var input = e.target;
    if (!input || input.tagName !== "INPUT" || input.type === "radio" || input.type === "checkbox") return;
    var form = input.closest("form[data-ledger-form]");
    if (!form) return;
    var fields = Array.prototype.filter.call(form.querySelectorAll("input"), function (el) {
      return el.type !== "hidden" && el.type !== "radio" && el.type !== "checkbox" && !el.disabled;
    });
    var k = fields.indexOf(input);
    if (k >= 0 && k < fields.length - 1) {
      e.preventDefault();
      fields[k + 1].focus();
      if (fields[k + 1].select) fields[k + 1].select();
    }
  });

  // ---- the photo ledger: one export at a time, and say so while the server builds it ------
  document.querySelectorAll("form[data-ledger-export]").forEach(function (f) {
    var busy = f.querySelector("[data-ledger-busy]");
    var buttons = f.querySelectorAll("button");
    f.addEventListener("submit", function () {
      var token = String(Date.now()) + String(Math.floor(Math.random() * 1e6));
      f.querySelector("input[name=token]").value = token;
      // disabled after the submit has taken the pressed button's value
      setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
      if (busy) busy.hidden = false;
      var started = Date.now();
      var timer = setInterval(function () {
        var done = (";" + document.cookie.replace(/\s/g, "")).indexOf(";ledger_done_" + token + "=") >= 0;
        if (done || Date.now() - started > 300000) {
          clearInterval(timer);
          buttons.forEach(function (b) { b.disabled = false; });
          if (busy) busy.hidden = true;
        }
      }, 500);
    });
  });
})();
