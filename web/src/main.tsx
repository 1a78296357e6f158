import { render } from "preact";
import { createPaClients } from "./api/clients.js";
import { Credential } from "./api/credential.js";
import { App } from "./app.js";
import "./styles.css";

const root = document.getElementById("app");
if (root) {
  const credential = new Credential(sessionStorage);
  render(<App clients={createPaClients(location.origin, credential)} credential={credential} />, root);
}
