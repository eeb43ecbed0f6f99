/* The search page of the static archive: no server, works from file:// too.
   suche/index-<year>.js (prebuilt by akn-mail) push {docs, words} into window.AKN_SUCHE.
   A query is folded with the archive's German rules (akn_mail/archive/analysis.fold:
   lower case, ß -> ss, ae/oe/ue and ä/ö/ü -> a/o/u); a query word matches an indexed
   word that starts with it, that it starts with (Förderprogramme -> förderprogramm), or
   that contains it (Wärmeplanung in Kommunalwärmeplanung). All words must match.
   Results are built with textContent only: nothing from mail becomes HTML. */
(function () {
  "use strict";
  var MAX_RESULTS = 50;

  function fold(text) {
    return text.normalize("NFC").toLowerCase().replace(/ß/g, "ss")
      .replace(/ae/g, "a").replace(/oe/g, "o").replace(/(?<!q)ue/g, "u")
      .replace(/ä/g, "a").replace(/ö/g, "o").replace(/ü/g, "u");
  }

  function words(text, stop) {
    return (fold(text).match(/[\p{L}\p{N}_]+/gu) || []).filter(function (word) {
      return word.length >= 2 && !stop.has(word);
    });
  }

  function matches(term, word) {
    if (term.startsWith(word)) return true;
    if (word.startsWith(term) && term.length >= 4 && word.length - term.length <= 3) return true;
    return word.length >= 5 && term.indexOf(word) > 0;
  }

  function search(query, stop) {
    var wanted = words(query, stop);
    if (!wanted.length) return null;
    var found = [];
    (window.AKN_SUCHE || []).forEach(function (shard) {
      var hits = null;
      wanted.forEach(function (word) {
        var docs = new Set();
        Object.keys(shard.words).forEach(function (term) {
          if (matches(term, word)) shard.words[term].forEach(function (n) { docs.add(n); });
        });
        hits = hits === null ? docs : new Set(Array.from(hits).filter(function (n) { return docs.has(n); }));
      });
      hits.forEach(function (n) {
        var doc = shard.docs[n];
        var subject = fold(doc[1]);
        var score = doc[4] * 10;  // minutes first, then subject hits, then the newest
        wanted.forEach(function (word) { if (subject.indexOf(word) >= 0) score += 3; });
        found.push({doc: doc, score: score});
      });
    });
    found.sort(function (a, b) {
      return b.score - a.score || (a.doc[0] < b.doc[0] ? 1 : a.doc[0] > b.doc[0] ? -1 : 0);
    });
    return found;
  }

  function germanDate(iso) {
    var parts = iso.split("-");
    return parts.length === 3 ? parts[2] + "." + parts[1] + "." + parts[0] : iso;
  }

  function show(found, list, status, query) {
    list.textContent = "";
    if (found === null) {
      status.textContent = "Bitte geben Sie ein Suchwort ein.";
      return;
    }
    status.textContent = found.length === 0 ? "Keine Treffer für „" + query + "“."
      : found.length + (found.length === 1 ? " Treffer" : " Treffer") + " für „" + query + "“"
        + (found.length > MAX_RESULTS ? ", die ersten " + MAX_RESULTS + " sind gezeigt." : ".");
    found.slice(0, MAX_RESULTS).forEach(function (item) {
      var doc = item.doc;
      var entry = document.createElement("li");
      var link = document.createElement("a");
      link.href = doc[3];
      link.textContent = doc[1] || "(ohne Betreff)";
      entry.appendChild(link);
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = " " + germanDate(doc[0]) + ", " + doc[2]
        + (doc[4] ? ", Protokoll" + (doc[6] ? " " + doc[6] : "") + (doc[7] ? ", ausgerichtet von " + doc[7] : "") : "")
        + ", Archiv-ID " + doc[8];
      entry.appendChild(meta);
      if (doc[5]) {
        var snippet = document.createElement("p");
        snippet.textContent = doc[5];
        entry.appendChild(snippet);
      }
      list.appendChild(entry);
    });
  }

  function start() {
    var list = document.getElementById("treffer");
    var status = document.getElementById("status");
    var input = document.getElementById("q");
    var stop = new Set(JSON.parse(list.getAttribute("data-stoppwoerter") || "[]"));
    var query = new URLSearchParams(window.location.search).get("q") || "";
    input.value = query;
    if (query.trim()) show(search(query, stop), list, status, query.trim());
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
