// Submits a form marked data-autosubmit as soon as the page loads (the page shows a button
// for browsers without scripts). A separate file, so the pages' CSP can forbid inline scripts.
document.querySelector('form[data-autosubmit]')?.submit();
