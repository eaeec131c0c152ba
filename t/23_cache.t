# What caches are told (issue 11, part 1): a Cache-Control on every answer
# of a feed (files, json/main.json, 404, 301, 405, 503); the tag header
# naming the feed and the corte (Surrogate-Key by default, xkey for feed
# cdn) and X-PREP-Corte-Id; PrepEdgeTTL's s-maxage for files and main.json's
# lifetime through CDN-Cache-Control and Surrogate-Control, its
# Cache-Control staying exactly the mandated one; unchanged files keep
# ETag and Last-Modified across cortes; If-None-Match wins over
# If-Modified-Since; X-PREP-Min-Corte answers 503 on an origin behind.
# Feeds: qro (defaults), cdn (PrepEdgeTTL 10m main=5s, PrepCacheTag xkey).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use PrepTest;

sub get { http(GET => @_) }

# --- defaults: feed qro ---------------------------------------------
my ($pkg, $f) = ensure_corte('qro', corte => '2024-06-02T21:05:00-06:00', seed => 11, files => 600);
ok $f && $f->{corte}, 'feed qro serves a corte' or give_up('qro has no corte');
my $id = $f->{corte}{id};
my $tag = "prep-qro prep-qro-$id";

for my $p ('index.html', 'json/main.json', 'img/escudo.png') {
    my $r = get("/prep/qro/$p");
    is $r->header('X-PREP-Corte-Id'), $id, "$p: X-PREP-Corte-Id";
    is $r->header('Surrogate-Key'), $tag, "$p: Surrogate-Key names the feed and the corte";
    ok !defined $r->header('Surrogate-Control') && !defined $r->header('CDN-Cache-Control'),
        "$p: no edge lifetime without PrepEdgeTTL";
}
{
    my $r = get('/prep/qro/no-existe.json');
    is $r->code, 404, 'a file the corte lacks: not found';
    is $r->header('Cache-Control'), 'no-cache', '404: Cache-Control: no-cache';
    is $r->header('Surrogate-Key'), $tag, '404: tagged with its corte';
    is $r->header('X-PREP-Corte-Id'), $id, '404: X-PREP-Corte-Id';
    $r = get('/prep/qro/.oculto');
    is $r->header('Cache-Control') // '', 'no-cache', 'a 404 of a path no corte can have: no-cache';
}
{
    my $r = raw_http('/prep/qro');
    is $r->{status}, 301, '/prep/qro: 301';
    is $r->{headers}{'cache-control'}, 'public, no-cache', '301: Cache-Control as a file';
    is $r->{headers}{'surrogate-key'}, $tag, '301: tagged';
    my $d = get('/prep/qro/json/distritos/distrito-01.json');
    is $d->header('Cache-Control'), 'public, max-age=30', 'a PrepCacheControl rule stays as it is';
}
{
    my $r = http(POST => '/prep/qro/index.html');
    is $r->code, 405, 'POST: 405';
    is $r->header('Cache-Control'), 'no-cache', '405: Cache-Control: no-cache';
}
is get('/prep/vacia/index.html')->header('Cache-Control'), 'no-store',
    '503 of a feed with no corte yet: Cache-Control: no-store';

# --- X-PREP-Min-Corte -------------------------------------------------
{
    my $r = get('/prep/qro/json/main.json', 'X-PREP-Min-Corte' => $id);
    is $r->code, 200, 'X-PREP-Min-Corte of the corte served: 200';
    $r = get('/prep/qro/json/main.json', 'X-PREP-Min-Corte' => '20000101T000000Z-00000000');
    is $r->code, 200, 'X-PREP-Min-Corte of an older corte: 200';
    $r = get('/prep/qro/json/main.json', 'X-PREP-Min-Corte' => '29991231T000000Z-ffffffff');
    is $r->code, 503, 'X-PREP-Min-Corte newer than the corte served: 503';
    is $r->header('X-PREP-Behind'), '1', '... X-PREP-Behind: 1';
    is $r->header('Retry-After'), '1', '... Retry-After: 1';
    is $r->header('Cache-Control'), 'no-store', '... Cache-Control: no-store';
    $r = get('/prep/vacia/json/main.json', 'X-PREP-Min-Corte' => '20000101T000000Z-00000000');
    is $r->code, 503, 'a feed with no corte is behind any corte';
    is $r->header('X-PREP-Behind'), '1', '... X-PREP-Behind: 1';
}

# --- feed cdn: PrepEdgeTTL 10m main=5s, PrepCacheTag xkey ------------------
my $first = cached_package(name => 'cdn-1', corte => '2024-06-02T21:05:00-06:00', seed => 31, files => 300);
my $c1 = upload_and_wait($first, 'cdn', timeout => 30);
ok $c1, 'feed cdn: first corte' or give_up('cdn has no corte');
my $id1 = $c1->{corte}{id};
my %before;
{
    my $m = get('/prep/cdn/json/main.json');
    is $m->header('Cache-Control'), 'no-cache, no-store, must-revalidate',
        'main.json: exactly the mandated Cache-Control';
    is $m->header('CDN-Cache-Control'), 'max-age=5', 'main.json: CDN-Cache-Control: max-age=5';
    is $m->header('Surrogate-Control'), 'max-age=5', 'main.json: Surrogate-Control: max-age=5';
    is $m->header('xkey'), "prep-cdn prep-cdn-$id1", 'xkey names the feed and the corte';
    ok !defined $m->header('Surrogate-Key'), 'no Surrogate-Key when PrepCacheTag says xkey';
    for my $p ('index.html', 'css/prep.css', 'img/escudo.png', 'datos/PRES_2024.csv') {
        my $r = get("/prep/cdn/$p");
        is $r->header('Cache-Control'), 'public, max-age=0, must-revalidate, s-maxage=600',
            "$p: browsers revalidate, shared caches hold it 10 minutes";
        ok !defined $r->header('Surrogate-Control'), "$p: no Surrogate-Control (s-maxage says it)";
        $before{$p} = [$r->header('ETag'), $r->header('Last-Modified'), $r->header('X-PREP-Corte')];
    }
    is get('/prep/cdn/json/distritos/distrito-01.json')->header('Cache-Control'), 'public, s-maxage=60',
        'a PrepCacheControl rule with s-maxage wins over PrepEdgeTTL';
    my $n = get('/prep/cdn/nuevo/archivo.json');
    is $n->code, 404, 'a file the corte does not have: 404';
    is $n->header('Cache-Control'), 'no-cache', '404: no-cache for browsers';
    is $n->header('Surrogate-Control'), 'max-age=5', '404: held by the edge no longer than main.json';
    is $n->header('CDN-Cache-Control'), 'max-age=5', '404: CDN-Cache-Control too';
}

# A second corte: the same static files (other mtimes in the package), new data.
sleep 1;
my $second = cached_package(name => 'cdn-2', corte => '2024-06-02T21:35:00-06:00', seed => 32,
                            files => 300, only_data_changes_from => 31);
my $c2 = upload_and_wait($second, 'cdn', timeout => 30);
ok $c2 && $c2->{corte}{id} ne $id1, 'feed cdn: second corte' or give_up('no second corte');
my $id2 = $c2->{corte}{id};
{
    my $same = 0;
    for my $p ('css/prep.css', 'img/escudo.png') {
        my ($etag, $lm) = @{ $before{$p} };
        my $r = get("/prep/cdn/$p");
        is $r->header('ETag'), $etag, "$p unchanged: the same ETag";
        is $r->header('Last-Modified'), $lm, "$p unchanged: the same Last-Modified across cortes";
        is $r->header('xkey'), "prep-cdn prep-cdn-$id2", "$p: tagged with the new corte";
        my $c = get("/prep/cdn/$p", 'If-None-Match' => $etag, 'If-Modified-Since' => $lm);
        is $c->code, 304, "$p: both validators of the previous corte: 304";
        $c = get("/prep/cdn/$p", 'If-None-Match' => $etag,
                 'If-Modified-Since' => 'Sat, 01 Jan 2000 00:00:00 GMT');
        is $c->code, 304, "$p: If-None-Match matches, If-Modified-Since older: 304 (If-None-Match wins)";
        $c = get("/prep/cdn/$p", 'If-None-Match' => '"otra-cosa"',
                 'If-Modified-Since' => 'Fri, 01 Jan 2100 00:00:00 GMT');
        is $c->code, 200, "$p: If-None-Match does not match, If-Modified-Since later: 200 (If-None-Match wins)";
    }
    my $m = get('/prep/cdn/json/main.json');
    my $mc = get('/prep/cdn/json/main.json', 'If-Modified-Since' => $m->header('Last-Modified'),
                 'If-None-Match' => '"no-coincide"');
    is $mc->code, 200, 'main.json changed: a stale ETag with a current date still gets the bytes';
    # an unchanged file of the first package keeps the first corte's mtime even after a third
    my ($etag, $lm) = @{ $before{'img/escudo.png'} };
    ok $lm, 'Last-Modified is sent';
}

done_testing();
