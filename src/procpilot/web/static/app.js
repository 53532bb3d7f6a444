// The chat page: replies and later messages (an approval decided, a timer fired) arrive through
// one EventSource as HTML fragments rendered by the server; choice buttons send their payload.
(function () {
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  ready(function () {
    var chat = document.getElementById("chat");
    if (!chat) return;
    var list = document.getElementById("messages");
    var form = document.getElementById("send");
    var seen = parseInt(chat.dataset.after || "0", 10);
    var source = new EventSource(chat.dataset.stream + "?after=" + seen);
    function scroll() { list.scrollTop = list.scrollHeight; }
    var button = form.querySelector("button[type=submit]");
    var input = form.querySelector("input[name=text]");
    // While the assistant works: a typing indicator, and Send disabled, until its reply arrives.
    function typing(on) {
      var shown = document.getElementById("typing");
      if (on && !shown) {
        list.insertAdjacentHTML("beforeend", '<div class="msg bot typing" id="typing" role="status" aria-label="' +
          (chat.dataset.typing || "…") + '"><span class="dots"><span></span><span></span><span></span></span></div>');
        scroll();
      } else if (!on && shown) {
        shown.remove();
      }
      form.setAttribute("aria-busy", on ? "true" : "false");
      button.disabled = on;
    }
    function failed(text) {
      typing(false);
      var note = document.createElement("div");
      note.className = "msg bot failed";
      note.setAttribute("role", "alert");
      note.textContent = text;
      list.appendChild(note);
      scroll();
    }
    form.addEventListener("htmx:beforeRequest", function () { typing(true); });
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) { typing(false); input.focus(); return; }
      var detail = "";
      try { detail = JSON.parse(event.detail.xhr.responseText).detail || ""; } catch (e) { detail = ""; }
      failed((chat.dataset.failed || "The message was not sent.") + (detail ? " " + detail : ""));
    });
    form.addEventListener("htmx:sendError", function () { failed(chat.dataset.offline || "The message was not sent."); });
    source.addEventListener("message", function (event) {
      var id = parseInt(event.lastEventId || "0", 10);
      if (id && id <= seen) return;
      seen = id || seen;
      var shown = document.getElementById("typing");
      if (shown) list.insertBefore(document.createRange().createContextualFragment(event.data), shown);
      else list.insertAdjacentHTML("beforeend", event.data);
      scroll();
    });
    source.addEventListener("status", function (event) {
      document.getElementById("status").innerHTML = event.data;
    });
    // A reply rated: thumbs up or down, sent at once; the rated thumb stays marked.
    list.addEventListener("click", function (event) {
      var thumb = event.target.closest(".rate button");
      if (!thumb) return;
      var box = thumb.parentElement;
      var body = new URLSearchParams({ rating: thumb.dataset.rating, csrf_token: chat.dataset.csrf || "" });
      fetch(box.dataset.url, { method: "POST", body: body, headers: { "X-CSRF-Token": chat.dataset.csrf || "" } })
        .then(function (response) {
          if (!response.ok) return;
          box.querySelectorAll("button").forEach(function (b) { b.classList.toggle("rated", b === thumb); });
          box.dataset.rated = thumb.dataset.rating;
        });
    });
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button.choice");
      if (!button) return;
      form.querySelector("input[name=text]").value = button.dataset.payload;
      form.requestSubmit();
    });
    chat.dataset.ready = "1";
    scroll();
  });
})();

// The review page: Ctrl+Enter submits, Alt+S skips, Alt+R rejects.
(function () {
  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("review-form");
    if (!form) return;
    var pick = null;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) pick = "submit-review";
    else if (event.altKey && (event.key === "s" || event.key === "S")) pick = "skip-review";
    else if (event.altKey && (event.key === "r" || event.key === "R")) pick = "reject-review";
    if (!pick) return;
    event.preventDefault();
    form.requestSubmit(document.getElementById(pick));
  });
})();
