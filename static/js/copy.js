// "Copy JSON" buttons: copy the text of the element named by data-copy. Hidden without JS.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  // Plain-HTTP pages have no clipboard API: copy through a temporary selection.
  var area = document.createElement("textarea");
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  return Promise.resolve();
}

document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    copyText(document.getElementById(button.dataset.copy).value).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy JSON"; }, 1500);
    });
  });
});
