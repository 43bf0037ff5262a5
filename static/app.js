// Refreshes pages that ask for it every 30 seconds, keeping the scroll position.
(function () {
  "use strict";
  var key = "lightsync-scroll:" + location.pathname + location.search;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) {
    sessionStorage.removeItem(key);
    window.addEventListener("load", function () { window.scrollTo(0, parseInt(saved, 10) || 0); });
  }
  if (document.body && document.body.getAttribute("data-refresh") === "30") {
    setTimeout(function () {
      sessionStorage.setItem(key, String(window.scrollY));
      location.reload();
    }, 30000);
  }
})();
