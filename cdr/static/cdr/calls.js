/* The call list's player: one <dialog> for the page. A row's play button puts its link in the
   <audio> only when pressed (the link view logs each listen), and closing the dialog lets it go. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const dialog = document.getElementById("cdr-player");
  if (!dialog) return;
  const audio = dialog.querySelector("audio");
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.cdr-play");
    if (!button) return;
    event.preventDefault();
    dialog.querySelector(".cdr-player-call").textContent = button.dataset.call;
    dialog.querySelector(".cdr-player-download").href = button.dataset.download;
    audio.src = button.dataset.play;
    dialog.showModal();
    audio.play().catch(() => {}); // a browser may refuse to start sound; the controls still work
  });
  dialog.querySelector(".cdr-player-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
  });
});
