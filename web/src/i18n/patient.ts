import { defineStrings } from "./define";

export default defineStrings({ title: "patient" }, { title: "patient" });
