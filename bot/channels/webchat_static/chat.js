// The web chat page: sends what the person types or clicks, shows replies and pushes.
// All words come from the page (rendered from a template); this file holds none.
(function () {
  "use strict";
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const menu = document.getElementById("menu");
  let seq = 0;
  let busy = false;

  function bubble(kind, text) {
    const div = document.createElement("div");
    div.className = "msg " + kind;
    div.textContent = text;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }

  function showAttachment(div, item) {
    if (item.mime_type && item.mime_type.startsWith("image/")) {
      const img = document.createElement("img");
      img.src = item.url;
      img.alt = item.filename;
      img.className = "attachment";
      div.appendChild(img);
    } else {
      const link = document.createElement("a");
      link.href = item.url;
      link.download = item.filename;
      link.textContent = item.filename;
      div.appendChild(link);
    }
  }

  function showReply(reply) {
    const div = bubble("bot", reply.text);
    if (reply.attachment && reply.attachment.url) showAttachment(div, reply.attachment);
    if (reply.options && reply.options.length) {
      const row = document.createElement("div");
      row.className = "options";
      for (const option of reply.options) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = option.label;
        button.addEventListener("click", () => send({ option: option.token }, option.label));
        row.appendChild(button);
      }
      div.appendChild(row);
    }
    log.scrollTop = log.scrollHeight;
  }

  async function send(body, echo) {
    if (busy) return;
    busy = true;
    bubble("user", echo);
    try {
      const response = await fetch("/api/message", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const data = await response.json();
      for (const reply of data.replies) showReply(reply);
    } catch (err) {
      bubble("error", log.dataset.error);
    } finally {
      busy = false;
      input.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    send({ text: text }, text);
  });
  menu.addEventListener("click", () => send({ text: "/start" }, menu.textContent));

  async function poll() {
    for (;;) {
      try {
        const response = await fetch("/api/events?after=" + seq, { credentials: "same-origin" });
        if (response.ok) {
          const data = await response.json();
          for (const event of data.events) {
            showReply(event);
            seq = Math.max(seq, event.seq);
          }
          if (data.seq < seq) seq = data.seq;  // the server restarted
        } else {
          await new Promise((r) => setTimeout(r, 5000));
        }
      } catch (err) {
        await new Promise((r) => setTimeout(r, 5000));
      }
    }
  }
  poll();
  input.focus();
})();
