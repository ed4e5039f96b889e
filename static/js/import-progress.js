// Keeps an import run's page up to date while the job runs: polls the run's status JSON, moves
// the <progress> bar, updates the live status text (read out by screen readers), and reloads the
// page once the run has finished so the full outcome shows. Without JavaScript the page refreshes
// itself instead (a <noscript> meta refresh) and offers a refresh link.
(function () {
  'use strict';
  var root = document.querySelector('[data-import-status-url]');
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute('data-import-status-url');
  var bar = root.querySelector('progress');
  var statusText = root.querySelector('[data-import-status]');
  var percentText = root.querySelector('[data-import-percent]');
  var messageText = root.querySelector('[data-import-message]');
  var delay = 1000;
  var lastMessage = messageText ? messageText.textContent : '';

  function show(data) {
    bar.value = data.progress;
    bar.textContent = data.progress + '%';
    statusText.textContent = data.status_label;
    percentText.textContent = String(data.progress);
    if (data.progress_message !== lastMessage) {
      messageText.textContent = data.progress_message;
      lastMessage = data.progress_message;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        if (!response.ok) {
          throw new Error('status ' + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        show(data);
        if (data.is_finished) {
          window.location.replace(root.getAttribute('data-import-detail-url') || window.location.href);
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A network hiccup or a restart: back off, keep trying.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
