// Photo ledger fields on the site page: Enter moves to the next field (the last one saves),
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
})();
