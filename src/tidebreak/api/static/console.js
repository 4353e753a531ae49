// tidebreak review console: one-key decisions and click-to-reveal. No build step, no inline JS
// (the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("click", function (ev) {
  var hidden = ev.target.closest(".blurred");
  if (hidden) { hidden.classList.remove("blurred"); hidden.classList.add("revealed"); }
  var btn = ev.target.closest("button.verdict");
  if (btn) { document.getElementById("verdict").value = btn.dataset.verdict; }
});
document.addEventListener("keydown", function (ev) {
  var form = document.getElementById("decide");
  if (!form || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  var tag = (ev.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select") return;
  var btn = form.querySelector('button.verdict[data-key="' + ev.key + '"]');
  if (btn) {
    ev.preventDefault();
    btn.click();  // the browser checks the required clause first
  } else if (["a", "r", "d", "l", "e", "v", "m"].indexOf(ev.key) >= 0 && !form.querySelector("button.verdict")) {
    // read-only roles: send the attempt so the server's refusal is shown
    document.getElementById("verdict").value = ev.key;
    htmx.trigger(form, "submit");
  }
});
