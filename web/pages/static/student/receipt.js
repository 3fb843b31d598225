// The printable receipt: its one button prints the page (or saves it as a PDF from the print dialog).
// An external module: the page's Content-Security-Policy allows no inline script.
const print = document.querySelector('button[data-action="print"]');
if (print) print.addEventListener("click", () => window.print());
