# Uploads the way the OPLE's SFTP client makes them are published within a
# few seconds: NAME.part renamed when complete, a file written progressively
# under its final name (pauses shorter than PrepSettleTime), a zip, a
# package without a top folder.  Uploads in progress (.part, .filepart,
# .tmp, dot-names) are never read.  Feed: subida (PrepSettleTime 1).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Copy qw(copy);
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'subida';
my $inc  = incoming($feed);
my $sto = store($feed);
my $tmp  = tmp_dir();
my $base = "/prep/$feed";

my $pkg_a = make_package(out => "$tmp/PREP_QRO_2024_2105.tar.gz", corte => '2024-06-02T21:05:00-06:00',
                         seed => 21, files => 400);
my $pkg_b = make_package(out => "$tmp/PREP_QRO_2024_2110.tar.gz", corte => '2024-06-02T21:10:00-06:00',
                         seed => 22, only_data_changes_from => 21, files => 400);
my $pkg_c = make_package(out => "$tmp/PREP_QRO_2024_2115.tar.gz", corte => '2024-06-02T21:15:00-06:00',
                         seed => 23, files => 400);
my $pkg_d = make_package(out => "$tmp/PREP_QRO_2024_2120.zip", corte => '2024-06-02T21:20:00-06:00',
                         seed => 24, files => 300, format => 'zip');
my $pkg_e = make_package(out => "$tmp/PREP_QRO_2024_2125.tar.gz", corte => '2024-06-02T21:25:00-06:00',
                         seed => 25, files => 300, top_dir => '');

ok status_feed($feed), 'the status document lists the feed' or give_up('no status for feed subida');
ok !defined corte_id($feed), 'the feed has no corte before the first upload';

# 1. NAME.part, then rename.
my $name_a = 'PREP_QRO_2024_2105.tar.gz';
copy($pkg_a, "$inc/$name_a.part") or die;
sleep 3.5;
ok !defined corte_id($feed), 'a .part upload is not published while it is being written';
ok -e "$inc/$name_a.part", 'the .part file is left where it is';
rename "$inc/$name_a.part", "$inc/$name_a" or die;
my $t0 = time;
my $f = wait_new_corte($feed, undef, 20);
my $took = time - $t0;
ok $f, 'the renamed package is published within 20 s'
    or diag explain status_feed($feed);
diag sprintf 'published %.1f s after the rename', $took;
cmp_ok $took, '<', 10, 'published within a few seconds (settle 1 s + polling)';
is $f && $f->{corte}{time}, '2024-06-02T21:05:00-06:00', 'corte.time of the first package';
is $f && $f->{corte}{package}, $name_a, 'corte.package is the uploaded name';
cmp_ok $f && $f->{corte}{variants}{made}, '>', 100, 'the first corte compresses its text files (corte.variants.made)';
is $f && $f->{corte}{variants}{reused}, 0, 'and has nothing to reuse (corte.variants.reused 0)';
{
    my $cores = grep { /^processor\s*:/ } split /\n/, slurp('/proc/cpuinfo');
    $cores = 8 if $cores > 8;
    is $f && $f->{corte}{variants}{threads}, $cores, "compression ran on every core ($cores threads)";
}
ok wait_for(5, sub { -e "$sto/processed/$name_a" }), 'the package is moved to STORE/processed/';
ok !-e "$inc/$name_a", 'and is no longer in INCOMING';

my $r = http(GET => "$base/json/main.json");
is $r->code, 200, 'main.json is served';
is $r->header('X-PREP-Corte'), '2024-06-02T21:05:00-06:00', 'X-PREP-Corte of the first corte';
my $etag_main_a = $r->header('ETag');
my $etag_css_a  = http(GET => "$base/css/prep.css")->header('ETag');
my $etag_csv_a  = http(GET => "$base/datos/PRES_2024.csv")->header('ETag');
my $id_a = $f ? $f->{corte}{id} : '';

# 2. Names of uploads in progress are never read, even when complete.
my @ignored = ('PREP_QRO_2024_2115.tar.gz.filepart', '.PREP_QRO_2024_2115.tar.gz',
               'PREP_QRO_2024_2115.tar.gz.tmp', 'PREP_QRO_2024_2115.tar.gz.part');
copy($pkg_c, "$inc/$_") or die for @ignored;
sleep 4;
is corte_id($feed), $id_a, 'complete packages named .filepart/.tmp/.part/.NAME are not read';
for (@ignored) {
    ok -e "$inc/$_", "$_ is left in INCOMING";
    unlink "$inc/$_";
}
my $st = status_feed($feed);
ok !grep({ ($_->{package} // '') =~ /2115/ } @{ $st->{rejected} || [] }),
    'and none of them is listed as rejected';

# 3. Written progressively under the final name: 8 chunks, 0.5 s apart.
my $name_b = 'PREP_QRO_2024_2110.tar.gz';
upload_chunked($pkg_b, $feed, name => $name_b, chunks => 8, pause => 0.5);
$f = wait_new_corte($feed, $id_a, 20);
ok $f, 'a package written in chunks is published within 20 s' or diag explain status_feed($feed);
is $f && $f->{corte}{time}, '2024-06-02T21:10:00-06:00', 'corte.time of the chunked package';
# Only data files changed: the gzip/br variants of the unchanged static
# files (CSS, JS, SVG) come from the first corte instead of being
# compressed again; HTML, with its new banner, is compressed again.
cmp_ok $f && $f->{corte}{variants}{reused}, '>=', 10,
    'variants of unchanged files are reused across cortes (corte.variants.reused)'
    or diag explain $f && $f->{corte};
$st = status_feed($feed);
ok !grep({ ($_->{package} // '') eq $name_b } @{ $st->{rejected} || [] }),
    'the chunked package was never taken half-written (not rejected)'
    or diag explain $st->{rejected};
$r = http(GET => "$base/json/main.json");
is $r->header('X-PREP-Corte'), '2024-06-02T21:10:00-06:00', 'X-PREP-Corte of the second corte';
my $tree_b = extract_package($pkg_b);
ok $r->content eq slurp("$tree_b/json/main.json"), 'main.json is the second corte\'s';

# Unchanged files keep their ETag across cortes; changed ones do not.
is http(GET => "$base/css/prep.css")->header('ETag'), $etag_css_a,
    'an unchanged file (css/prep.css) keeps its ETag across cortes';
isnt $r->header('ETag'), $etag_main_a, 'a changed file (json/main.json) gets a new ETag';
isnt http(GET => "$base/datos/PRES_2024.csv")->header('ETag'), $etag_csv_a,
    'a changed file (datos/PRES_2024.csv) gets a new ETag';

# 4. A zip package (libarchive reads zip too).
($f) = upload_and_wait($pkg_d, $feed, timeout => 20);
ok $f, 'a .zip package is published' or diag explain status_feed($feed);
is $f && $f->{corte}{time}, '2024-06-02T21:20:00-06:00', 'corte.time of the zip package';
my $tree_d = extract_package($pkg_d);
$r = http(GET => "$base/json/main.json");
ok $r->content eq slurp("$tree_d/json/main.json"), 'main.json comes from the zip';
$r = http(GET => "$base/" . enc_path('json/municipios/Querétaro.json'));
is $r->code, 200, 'a UTF-8 name from the zip is served';
ok $r->content eq slurp("$tree_d/json/municipios/Querétaro.json"), 'with the zip\'s bytes';

# 5. No top folder: PrepStripComponents auto strips nothing.
($f) = upload_and_wait($pkg_e, $feed, timeout => 20);
ok $f, 'a package without a single top folder is published' or diag explain status_feed($feed);
is $f && $f->{corte}{time}, '2024-06-02T21:25:00-06:00', 'corte.time of the package without top folder';
my $tree_e = extract_package($pkg_e);
$r = http(GET => "$base/json/main.json");
is $r->code, 200, 'json/main.json is found at the same URL';
ok $r->content eq slurp("$tree_e/json/main.json"), 'with that package\'s bytes';

done_testing;
