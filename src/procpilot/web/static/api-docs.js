// The API documentation page: Swagger UI over the service's own OpenAPI description, offline.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger");
  window.SwaggerUIBundle({ url: root.dataset.spec, domNode: root, deepLinking: true, tryItOutEnabled: false });
});
