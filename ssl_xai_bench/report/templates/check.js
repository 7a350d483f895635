
(function(){
  var errors = [];
  window.addEventListener('error', function(e){ errors.push(String(e.message || e.type)); });
  window.addEventListener('load', function(){
    var fails = [];
    document.querySelectorAll('img').forEach(function(i){
      if(!(i.complete && i.naturalWidth > 0)) fails.push('img:' + i.getAttribute('src'));
    });
    var audios = Array.prototype.slice.call(document.querySelectorAll('audio'));
    var pending = audios.length;
    function finish(){
      document.body.dataset.check = fails.length ? fails.join(' ') : 'ok';
      document.body.dataset.errors = errors.join(' | ');
      document.body.dataset.images = String(document.images.length);
      document.body.dataset.audios = String(audios.length);
      function box(sel){
        var el = document.querySelector(sel);
        if(!el) return null;
        var b = el.getBoundingClientRect();
        return [Math.round(b.top + window.scrollY), Math.round(b.bottom + window.scrollY)];
      }
      function right(sel){
        var el = document.querySelector(sel);
        return el ? Math.round(el.getBoundingClientRect().right) : null;
      }
      document.body.dataset.layout = JSON.stringify({
        scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        innerHeight: window.innerHeight, summary: box('#summary'),
        headline: box('#headline-overall'), summaryRight: right('#summary-table'),
        headlineRight: right('#headline-overall')});
    }
    function settle(){ pending -= 1; if(pending === 0) finish(); }
    if(pending === 0){ finish(); return; }
    audios.forEach(function(a){
      if(a.readyState >= 1){ settle(); return; }
      var seen = false;
      a.addEventListener('loadedmetadata', function(){ if(!seen){ seen = true; settle(); } });
      a.addEventListener('error', function(){
        if(!seen){ seen = true; fails.push('audio:' + a.getAttribute('src')); settle(); }
      });
      a.load();
    });
  });
})();
