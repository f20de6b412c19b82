document.addEventListener("DOMContentLoaded", () => { document.getElementById("js").textContent = "JavaScript ran"; });
