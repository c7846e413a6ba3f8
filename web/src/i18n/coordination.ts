import { defineStrings } from "./define";

export default defineStrings({ title: "coordination" }, { title: "coordination" });
