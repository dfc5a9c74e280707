// Refreshes the element marked data-poll by fetching its fragment again (no libraries).
(function () {
  "use strict";
  var live = document.querySelector("[data-poll]");
  if (!live) { return; }
  var url = live.getAttribute("data-poll");
  var every = parseInt(live.getAttribute("data-interval-ms"), 10) || 5000;
  function refresh() {
    fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (response) {
        if (response.redirected || !response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) { live.innerHTML = html; live.removeAttribute("data-stale"); })
      .catch(function () { live.setAttribute("data-stale", "true"); })
      .then(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
