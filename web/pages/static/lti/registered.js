// LTI Dynamic Registration: tell the LMS's registration window the tool is registered (it then closes it).
(window.opener || window.parent).postMessage({ subject: "org.imsglobal.lti.close" }, "*");
