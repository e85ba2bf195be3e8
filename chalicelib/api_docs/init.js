// Starts Swagger UI over this API's OpenAPI document. A file of its own, not an inline script: the
// page's Content-Security-Policy runs only scripts served by the API.
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  // The page is <stage>/v1/docs: the document is beside it, and the API's paths (/v1/...) start one
  // level up, so "Try it out" calls this stage whatever its prefix (the document's own server is "/").
  var documentUrl = new URL("openapi.json", document.baseURI);
  var stage = new URL("..", document.baseURI).href.replace(/\/$/, "");

  fetch(documentUrl, { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: stage, description: "This stage" }];
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        // A box that narrows the list by tag: the API has dozens of routes.
        filter: true,
        // The base layout: the standalone one's top bar draws its logo with an inline <style>.
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
        // No badge from the public validator: the page talks to this API only.
        validatorUrl: null,
        // A token given to "Authorize" lasts as long as the tab: none is written to the browser's storage.
        persistAuthorization: false,
      });
    })
    .catch(function (error) {
      root.textContent = "The API document could not be loaded (" + error.message + ").";
    });
});
