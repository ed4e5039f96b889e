// Runs first in <body>: lets nhsuk-frontend's CSS know JavaScript (and ES modules) are available.
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' nhsuk-frontend-supported' : '');
