// Posts the LTI answer form back to the LMS as soon as the page is read (the button stays for when it is not).
const form = document.getElementById("lti-post");
if (form) form.submit();
