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
    source.addEventListener("message", function (event) {
      var id = parseInt(event.lastEventId || "0", 10);
      if (id && id <= seen) return;
      seen = id || seen;
      list.insertAdjacentHTML("beforeend", event.data);
      scroll();
    });
    source.addEventListener("status", function (event) {
      document.getElementById("status").innerHTML = event.data;
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
